"""Every command-line test runs with its own audit log and loopback link timings.

Links get the loopback turnaround and backoff (``LOOPBACK_LINK``): a closed port or a cut link then fails in
tens of milliseconds instead of the 0.7 s of backoff a real pump is given, and nothing else changes.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from programmer.cli import pump_commands as cli_pump
from programmer.port import open_driver
from tests.support.emulator_fixtures import LOOPBACK_LINK


@pytest.fixture(autouse=True)
def loopback_links(monkeypatch) -> None:
    """The commands open their pumps with ``LOOPBACK_LINK`` on top of their own options."""
    monkeypatch.setattr(cli_pump, "open_driver", partial(open_driver, **LOOPBACK_LINK))


@pytest.fixture(autouse=True)
def audit_log(tmp_path, monkeypatch) -> Path:
    """The audit log of this test alone (``$ITB_AUDIT_LOG``)."""
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("ITB_AUDIT_LOG", str(path))
    return path

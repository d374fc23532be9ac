"""Every command-line test runs with its own audit log, its own clinic store with a clinician signed in, and loopback
link timings.

Links get the loopback turnaround and backoff (``LOOPBACK_LINK``): a closed port or a cut link then fails in
tens of milliseconds instead of the 0.7 s of backoff a real pump is given, and nothing else changes.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from programmer.cli import pump_commands as cli_pump
from programmer.port import PumpDriver, open_driver
from tests.support.bolus_situations import pump as filled_pump
from programmer.cli.support import EXIT_OK
from tests.support.cli_runs import DOCTOR, SYRINGE, SignedIn, run
from tests.support.clinic_fixtures import ADA
from tests.support.emulator_fixtures import LOOPBACK_LINK


@pytest.fixture(autouse=True)
def loopback_links(monkeypatch) -> None:
    """The commands open their pumps with ``LOOPBACK_LINK`` on top of their own options."""
    monkeypatch.setattr(cli_pump, "open_driver", partial(open_driver, **LOOPBACK_LINK))


@pytest.fixture
def in_memory_pump(monkeypatch):
    """Every command of the test opens this one in-memory pump (tests/support/fake_pump.py: baclofen 500 mcg/mL at
    150 mcg/day, a 60 cm catheter), whatever PORT it is given: quick tests of what the commands say, no process."""
    pump = filled_pump()

    def opened(port: str, **options: object) -> PumpDriver:
        return pump

    monkeypatch.setattr(cli_pump, "open_driver", opened)
    return pump


@pytest.fixture(autouse=True)
def audit_log(tmp_path, monkeypatch) -> Path:
    """The audit log of this test alone (``$ITB_AUDIT_LOG``)."""
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("ITB_AUDIT_LOG", str(path))
    return path


@pytest.fixture(autouse=True)
def signed_in(clinic_record) -> SignedIn:
    """Every command-line test has its own clinic store with osei, a clinician, signed in (tests/conftest.py)."""
    return clinic_record


@pytest.fixture
def administrator(signed_in) -> SignedIn:
    """Ada, the administrator, signed in instead of osei: she manages users and approves drug libraries."""
    signed_in.sign_in(ADA)
    return signed_in


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "baclofen-simple.json"


@pytest.fixture
def filled(capsys, start_emulator) -> str:
    """A pump of TEST-0001's (bound by its first change) filled with 20 mL of baclofen 500 mcg/mL, running the
    example's 150 mcg/day (the patient's chart), by the signed-in clinician."""
    url = start_emulator().url
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")[0] == EXIT_OK
    assert run(capsys, "write", url, EXAMPLE, *DOCTOR, "--previous-daily-dose", 150, "--yes")[0] == EXIT_OK
    return url

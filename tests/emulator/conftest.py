"""The emulator tests' pumps are paired at start with the test programmer (tests/support/emulator_support.py),
so every wire client can open a sealed session; an ``--insecure`` pump (version 1) has no pairing to give."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.emulator_fixtures import EmulatorProcess
from tests.support.emulator_support import paired_args


@pytest.fixture
def start_emulator(start_emulator, tmp_path) -> Callable[..., EmulatorProcess]:
    """As tests/conftest.py's, with ``--paired-with`` the test programmer's key file unless ``--insecure``."""

    def start(*args: str, **options) -> EmulatorProcess:
        pairing = () if "--insecure" in args or "--paired-with" in args else paired_args(tmp_path)
        return start_emulator(*args, *pairing, **options)

    return start

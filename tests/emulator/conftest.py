"""The emulator tests' pumps are paired at start with the test programmer (tests/support/emulator_support.py),
so every wire client can open a sealed session; an ``--insecure`` pump (version 1) has no pairing to give.

``pump`` and ``client`` here are the in-process pump of the bolus, line and demand tests (a module may define its
own): an ITB-20 with a 60 cm catheter (a 0.306 mL line) full of baclofen 500 mcg/mL, 20 mL in the reservoir, running
150 mcg/day, and a client in a session with SERVICE enabled."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from emulator.pump import Pump
from emulator.service import Service
from tests.support.emulator_fixtures import EmulatorProcess
from tests.support.emulator_support import Client, make_pump, paired_args, simple


@pytest.fixture
def pump() -> Pump:
    return make_pump(program=simple(150), catheter_cm=60.0)[0]


@pytest.fixture
def client(pump: Pump) -> Client:
    return Client(Service(pump, service_enabled=True))


@pytest.fixture
def start_emulator(start_emulator, tmp_path) -> Callable[..., EmulatorProcess]:
    """As tests/conftest.py's, with ``--paired-with`` the test programmer's key file unless ``--insecure``."""

    def start(*args: str, **options) -> EmulatorProcess:
        pairing = () if "--insecure" in args or "--paired-with" in args else paired_args(tmp_path)
        return start_emulator(*args, *pairing, **options)

    return start

"""``interrogate`` in process against the in-memory pump (tests/support/fake_pump.py): the demand dose and a running
bolus are shown with their units (docs/cli.md). Quick: no emulator process."""

from __future__ import annotations

import json

import pytest

from programmer.cli.support import EXIT_OK
from programmer.port import DemandDose
from tests.support.cli_runs import run

PORT = "socket://pump.test:7001"
"""Any PORT: the ``in_memory_pump`` fixture (tests/cli/conftest.py) answers it."""




def test_the_demand_dose_is_shown_in_text_and_json(capsys, in_memory_pump):
    in_memory_pump.write_demand(DemandDose(True, 25.0, 10.0, 240.0, 4))
    code, out, _ = run(capsys, "interrogate", PORT)
    assert code == EXIT_OK
    # 4 presses of 25 mcg: up to 100 mcg a day on top of the program
    assert ("Demand dose   25 mcg a press over 10 min, lockout 240 min, at most 4 a day: up to 100 mcg/day on top "
            "of the program") in out
    code, out, _ = run(capsys, "interrogate", PORT, "--json")
    demand = json.loads(out)["demand"]
    assert (demand["enabled"], demand["dose"], demand["dose_unit"], demand["duration_min"], demand["lockout_min"],
            demand["max_per_day"], demand["max_daily_dose"]) == (True, 25.0, "mcg", 10.0, 240.0, 4, 100.0)


def test_a_demand_dose_off_and_none_at_all(capsys, in_memory_pump, monkeypatch):
    code, out, _ = run(capsys, "interrogate", PORT)
    assert "Demand dose   off: the patient's button gives nothing" in out
    code, out, _ = run(capsys, "interrogate", PORT, "--json")
    assert json.loads(out)["demand"]["enabled"] is False

    def no_demand():
        from programmer.errors import PumpRefused
        raise PumpRefused("UNKNOWN_COMMAND", "read demand: unknown command", step="read demand")
    monkeypatch.setattr(in_memory_pump, "read_demand", no_demand)
    code, out, _ = run(capsys, "interrogate", PORT, "--json")
    assert code == EXIT_OK and json.loads(out)["demand"] is None
    assert "Demand dose   none: this pump has no demand dose" in run(capsys, "interrogate", PORT)[1]


def test_a_running_bolus_is_said_with_its_unit(capsys, in_memory_pump):
    in_memory_pump.bolus("b-1", 1.9, 30.0)
    code, out, _ = run(capsys, "interrogate", PORT)
    assert code == EXIT_OK and "Bolus         b-1 (therapeutic): 0 of 1.9 mcg delivered, 30.0 min left" in out

"""``interrogate`` in process against the in-memory pump (tests/support/fake_pump.py): the demand dose and a running
bolus are shown with their units (docs/cli.md). Quick: no emulator process."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from programmer.cli.support import EXIT_OK
from programmer.clock import computer_now
from programmer.program import program_from_data
from programmer.port import DemandDose
from tests.support.cli_runs import run

PORT = "socket://pump.test:7001"
BACLOFEN = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
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


def test_the_dst_changes_before_the_refill_by_date_are_warned_of(capsys, in_memory_pump, monkeypatch):
    """In Berlin the clocks change twice a year: on the last Sunday of March at 02:00 and of October at 03:00. With
    30 mcg/day (0.06 mL/day) from 20 mL the refill-by date is months away, past at least one of them."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    in_memory_pump.pump_time, in_memory_pump.volume_ml = computer_now().replace(microsecond=0), 20.0
    in_memory_pump.write_program(program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                                                    "therapy": {"mode": "simple_continuous", "daily_dose": 30}}))
    code, out, _ = run(capsys, "interrogate", PORT, "--json")
    reading = json.loads(out)
    changes = reading["clock_changes"]
    assert code == EXIT_OK and changes, (reading["refill_by"], reading["clock"])
    for change in changes:
        at = datetime.fromisoformat(change["at"])
        assert at.weekday() == 6 and at.day > 31 - 7 and (at.month, at.hour, change["shift_min"]) in ((3, 2, 60),
                                                                                                      (10, 3, -60))
        assert change["at"] <= reading["refill_by"] and change["message"].startswith(f"On {at.date()} at ")
        assert change["code"] == "CLOCK_CHANGE_AHEAD" and change["time_zone"] == "Europe/Berlin"
    text = run(capsys, "interrogate", PORT)[1]
    assert text.count("Warning       CLOCK_CHANGE_AHEAD: On ") == len(changes)
    monkeypatch.setenv("TZ", "UTC")
    assert json.loads(run(capsys, "interrogate", PORT, "--json")[1])["clock_changes"] == []


def test_a_move_to_new_york_is_warned_of_with_its_date(capsys, in_memory_pump, monkeypatch):
    """Berlin to New York on 15 July (the next one, always within 400 days): CEST (UTC+2) to EDT (UTC-4), clocks go
    back 6 h at 12:00 Berlin time."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    now = computer_now().replace(microsecond=0)
    in_memory_pump.pump_time, in_memory_pump.volume_ml = now, 20.0
    in_memory_pump.write_program(program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                                                    "therapy": {"mode": "simple_continuous", "daily_dose": 30}}))
    year = now.year if (now.month, now.day) < (7, 15) else now.year + 1
    code, out, _ = run(capsys, "interrogate", PORT, "--moving-to", "America/New_York", "--on", f"{year}-07-15",
                       "--json")
    [move] = [change for change in json.loads(out)["clock_changes"] if change["cause"] != "dst"]
    assert code == EXIT_OK and (move["cause"], move["at"], move["time_zone"], move["shift_min"]) == (
        "move to America/New_York", f"{year}-07-15T12:00", "America/New_York", -360)
    text = run(capsys, "interrogate", PORT, "--moving-to", "America/New_York", "--on", f"{year}-07-15")[1]
    assert (f"Warning       CLOCK_CHANGE_AHEAD: On {year}-07-15 at 12:00 the move to America/New_York puts clocks "
            "back 6 h") in text


@pytest.mark.parametrize(("options", "says"), [
    (["--moving-to", "America/New_York"], "--on: --moving-to and --on go together"),
    (["--on", "2999-01-01"], "--moving-to: --moving-to and --on go together"),
    (["--moving-to", "Mars/Olympus", "--on", "2999-01-01"],
     "--moving-to: unknown time zone 'Mars/Olympus': names come from the IANA time zone database"),
    (["--moving-to", "Asia/Kolkata", "--on", "2000-01-01"], "--on: 2000-01-01 is in the past"),
    (["--moving-to", "Asia/Kolkata", "--on", "2999-01-01"], "--on: 2999-01-01 is beyond the 400-day horizon"),
])
def test_move_options_that_cannot_be_used_exit_2(capsys, in_memory_pump, monkeypatch, options, says):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    code, out, err = run(capsys, "interrogate", PORT, *options)
    assert code == 2 and says in err and out == ""

"""The refill-by date, the calendar file and the low-alarm threshold from the command line, against the real emulator.

Dates are worked out by hand from the pump's own figures (its clock, volume and event log): the emulator's clock
runs from this computer's time, so the tests cannot fix it, but every expected date is a sum done here.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import icalendar
import pytest

from commandline import EXIT_INVALID
from programmer.cli.support import EXIT_OK, EXIT_REFUSED, Stage, failure_line
from programmer.errors import LinkError, PumpRefused
from tests.support.cli_runs import DOCTOR, PATIENT, event_count, interrogate, program_file, run, syringe
from tests.support.emulator_support import WireClient


def filled(capsys, url: str, tmp_path, daily_dose: float, concentration: float) -> None:
    """Fill the pump with 20 mL of baclofen at ``concentration`` and run ``daily_dose`` mcg/day on it."""
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *syringe(concentration=concentration),
               *DOCTOR, "--yes")[0] == EXIT_OK
    assert run(capsys, "write", url, program_file(tmp_path, daily_dose, concentration), *DOCTOR,
               "--previous-daily-dose", daily_dose, "--yes")[0] == EXIT_OK


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def refill_time(capsys, url: str) -> datetime:
    code, out, _ = run(capsys, "events", url, "--json")
    assert code == EXIT_OK
    [event] = [event for event in json.loads(out)["events"] if event["kind"] == "refill"]
    return at(event["time"])


def test_interrogate_gives_the_refill_by_a_week_before_the_low_alarm_and_saves_it_as_a_calendar_event(
        capsys, start_emulator, tmp_path):
    url = start_emulator().url
    filled(capsys, url, tmp_path, 150, 500)  # 0.3 mL/day
    ics = tmp_path / "refill.ics"
    code, out, _ = run(capsys, "interrogate", url, "--json", "--ics", ics)
    pump = json.loads(out)
    assert code == EXIT_OK and pump["refill_by_reason"] == "low_alarm" and pump["battery"]["replace_by"] is None
    # (volume - 2 mL) / 0.3 mL/day to the low alarm, less 7 days, from the pump's clock (to the second).
    days = (pump["reservoir"]["volume_ml"] - 2) / 0.3 - 7
    expected = at(pump["clock"]["pump_time"]) + timedelta(days=days)
    assert abs((at(pump["refill_by"]) - expected).total_seconds()) <= 1

    [event] = icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    start = event.decoded("dtstart")
    assert start == at(pump["refill_by"]) and start.tzinfo is None  # floating: the pump clock's reading
    serial = pump["pump"]["serial"]
    assert serial in event["summary"] and "baclofen 500 mcg/mL" in event["summary"]
    assert "floating local time" in event["description"] and "low_alarm" in event["description"]
    assert str(event["uid"]) == f"refill-by-{serial}@itb-programmer"
    assert b"\r\n" in ics.read_bytes()  # RFC 5545 line ends

    # Read again a moment later: the same date, to the rounding of its second (the pump ran meanwhile).
    code, out, _ = run(capsys, "interrogate", url)
    shown = re.search(r"^Refill by     (\S+) \(pump clock\): set by the low-reservoir alarm, less a week's margin$", out,
                      re.MULTILINE)
    assert code == EXIT_OK and shown and abs((at(shown[1]) - at(pump["refill_by"])).total_seconds()) <= 1


def test_a_slow_fill_is_due_at_its_stability_limit_and_a_pump_at_eri_by_its_end_of_service(
        capsys, start_emulator, tmp_path):
    url = start_emulator("--service").url
    filled(capsys, url, tmp_path, 100, 2000)  # 0.05 mL/day: 360 days to the low alarm
    pump = interrogate(capsys, url)
    # Baclofen's 180 days in the pump (the shipped library), from the refill the pump logged.
    assert (at(pump["refill_by"]), pump["refill_by_reason"]) == (
        refill_time(capsys, url) + timedelta(days=180), "drug_stability")

    client = WireClient(url)
    try:
        client.hello()
        status = client.call(0x70, {"action": "set_battery", "percent": 3.0}).payload
    finally:
        client.close()
    [eri] = [alarm for alarm in status["alarms"] if alarm["code"] == "eri"]
    pump = interrogate(capsys, url)
    # ERI is raised 90 days before end of service: 90 < 180, so the battery sets the date.
    replace_by = at(eri["since"]) + timedelta(days=90)
    assert at(pump["battery"]["replace_by"]) == replace_by
    assert (at(pump["refill_by"]), pump["refill_by_reason"]) == (replace_by, "battery")
    code, out, _ = run(capsys, "interrogate", url)
    assert code == EXIT_OK and f"replace by {pump['battery']['replace_by']} (pump clock)" in out


def test_refill_json_gives_the_next_refill_by_from_the_fill(capsys, start_emulator):
    url = start_emulator().url
    code, out, _ = run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *syringe(concentration=2000),
                       *DOCTOR, "--yes", "--json")
    refill = json.loads(out)
    # A first fill runs nothing (no low alarm ever): baclofen's 180 days from the fill set the date.
    assert code == EXIT_OK and refill["refill_by_reason"] == "drug_stability"
    expected = refill_time(capsys, url) + timedelta(days=180)
    assert abs((at(refill["refill_by"]) - expected).total_seconds()) <= 2  # the fill is logged just after the review


def test_refill_ics_saves_the_new_refill_by_and_a_file_that_cannot_be_written_leaves_the_refill_done(
        capsys, start_emulator, tmp_path):
    url = start_emulator().url
    ics = tmp_path / "next.ics"
    refill = ("refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *syringe(concentration=2000), *DOCTOR, "--yes")
    code, out, _ = run(capsys, *refill, "--json", "--ics", ics)
    data = json.loads(out)
    [event] = icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert code == EXIT_OK and event.decoded("dtstart") == at(data["refill_by"])  # baclofen's 180 days from now
    assert "baclofen 2000 mcg/mL" in event["summary"] and data["pump"]["serial"] in event["summary"]

    # The refill is recorded whatever the reminder: a folder that does not exist is a warning, exit 0.
    code, out, err = run(capsys, *refill[:3], 20, *refill[4:], "--ics", tmp_path / "no-such-folder" / "next.ics")
    assert code == EXIT_OK and "refilled and verified" in out
    assert "warning: the refill is recorded, but the reminder" in err and "was not written" in err


def test_a_pump_without_a_drug_has_no_refill_by_and_no_calendar_file(capsys, start_emulator, tmp_path):
    url = start_emulator().url
    ics = tmp_path / "refill.ics"
    pump = interrogate(capsys, url)
    assert pump["refill_by"] is None and pump["refill_by_reason"] is None
    code, _, err = run(capsys, "interrogate", url, "--ics", ics)
    assert code == EXIT_INVALID and "--ics" in err and "no refill-by date" in err and not ics.exists()


def test_plan_json_gives_the_refill_by_from_its_start(capsys, tmp_path):
    # 100 mcg/day at 500 mcg/mL: 0.2 mL/day, 18 mL to the 2 mL alarm in 90 days (2026-05-30 08:00), less a week.
    code, out, _ = run(capsys, "plan", program_file(tmp_path, 100), "--reservoir-ml", 20, "--low-alarm-ml", 2,
                       "--start", "2026-03-01T08:00:00", "--json")
    plan = json.loads(out)
    assert code == EXIT_OK and (plan["refill_by"], plan["refill_by_reason"]) == ("2026-05-23T08:00:00", "low_alarm")
    code, out, _ = run(capsys, "plan", program_file(tmp_path, 100), "--reservoir-ml", 20, "--low-alarm-ml", 2,
                       "--start", "2026-03-01T08:00:00")
    assert code == EXIT_OK
    assert "\nRefill by     2026-05-23T08:00:00: set by the low-reservoir alarm, less a week's margin\n" in out


def test_set_low_alarm_is_read_back_moves_the_refill_by_and_is_logged(capsys, start_emulator, tmp_path):
    url = start_emulator().url
    filled(capsys, url, tmp_path, 150, 500)
    events = event_count(capsys, url)
    code, _, err = run(capsys, "set-low-alarm", url, "--ml", 5)
    assert code == EXIT_INVALID and "--yes" in err and event_count(capsys, url) == events  # nothing sent

    code, out, _ = run(capsys, "set-low-alarm", url, "--ml", 5, "--yes", "--json")
    result = json.loads(out)
    assert code == EXIT_OK and len(result.pop("session_id")) == 32
    assert result == {"low_alarm_ml_before": 2.0, "low_alarm_ml": 5.0, "alarms": []}
    pump = interrogate(capsys, url)
    assert pump["reservoir"]["low_alarm_ml"] == 5.0
    days = (pump["reservoir"]["volume_ml"] - 5) / 0.3 - 7  # now 3 mL earlier: 10 days
    assert abs((at(pump["refill_by"]) - at(pump["clock"]["pump_time"]) - timedelta(days=days)).total_seconds()) <= 1
    code, out, _ = run(capsys, "events", url, "--json")
    assert [event["detail"] for event in json.loads(out)["events"] if event["kind"] == "low_alarm_set"] == [
        {"old_ml": 2.0, "new_ml": 5.0}]


@pytest.mark.parametrize("ml", [0.5, 10.01, 25])
def test_set_low_alarm_outside_the_pumps_range_is_refused_before_anything_is_sent(capsys, start_emulator, ml):
    # The ITB-20 takes 1 mL to half its 20 mL reservoir, 10 mL.
    url = start_emulator().url
    events = event_count(capsys, url)
    code, out, err = run(capsys, "set-low-alarm", url, "--ml", ml, "--patient", PATIENT, "--yes")
    assert code == EXIT_REFUSED and out == ""
    assert err == (f"pump-programmer: refused: low_alarm_ml {ml:g} mL (--ml) is outside this ITB-20's range of 1 to "
                   "10 mL; nothing was sent to the pump\n")
    assert interrogate(capsys, url)["reservoir"]["low_alarm_ml"] == 2.0 and event_count(capsys, url) == events


def test_a_refusal_by_the_pump_says_the_threshold_is_unchanged_and_a_lost_link_that_it_is_not_known():
    refused = failure_line(PumpRefused("OUT_OF_RANGE", "low_alarm_ml 9 mL is too high", step="set_low_alarm"),
                           Stage("setting the low-reservoir alarm of P", "it may or may not have been set",
                                 "the low-reservoir alarm is unchanged"))
    assert refused.endswith("too high; the low-reservoir alarm is unchanged")
    lost = failure_line(LinkError("timed out", step="set_low_alarm"),
                        Stage("setting the low-reservoir alarm of P", "it may or may not have been set",
                              "the low-reservoir alarm is unchanged"))
    assert lost.startswith("link failed while setting") and lost.endswith("timed out; it may or may not have been set")

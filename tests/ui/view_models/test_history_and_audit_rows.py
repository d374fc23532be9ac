"""The History page's series and rows and the Audit page's rows and filters, from hand-made entries, with hand-worked
figures: steps held until the next change and run on to now, one series per unit, refills as points, newest first,
and a filter typed wrong named by its field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from clinic.patients import DoseEntry
from ui.view_models import audit_rows, history

UTC = timezone.utc
JAN, MAR, MAY, JUN = (datetime(2026, month, 1, 9, 0, tzinfo=UTC) for month in (1, 3, 5, 6))


def entry(time: datetime, kind: str, daily_dose: float | None = None, concentration: float | None = 500.0,
          volume_ml: float | None = None, unit: str = "mcg", drug: str = "baclofen") -> DoseEntry:
    return DoseEntry("TEST-0001", "E20-AAAAAA", "s1", time, kind, drug, unit, concentration, daily_dose, volume_ml,
                     None, None, "osei", None)


ENTRIES = [entry(JAN, "program", 150.0), entry(MAR, "refill", volume_ml=18.0, concentration=1000.0),
           entry(MAR + timedelta(minutes=5), "program", 200.0, concentration=1000.0),
           entry(MAY, "bolus", concentration=1000.0)]


def test_the_daily_dose_is_held_until_the_next_program_and_drawn_to_now():
    [steps] = history.daily_dose_steps(ENTRIES, until=JUN)
    assert steps.label == "daily dose, mcg/day"
    assert steps.xs == (JAN.timestamp(), (MAR + timedelta(minutes=5)).timestamp(), JUN.timestamp())
    assert steps.ys == (150.0, 200.0)


def test_the_concentration_steps_at_the_refill_that_changed_it():
    [steps] = history.concentration_steps(ENTRIES, until=JUN)
    assert (steps.label, steps.ys) == ("baclofen, mcg/mL", (500.0, 1000.0))
    assert steps.xs == (JAN.timestamp(), MAR.timestamp(), JUN.timestamp())


def test_doses_in_another_unit_are_another_series_never_joined():
    morphine = entry(MAY, "program", 3.0, concentration=25.0, unit="mg", drug="morphine")
    assert [s.label for s in history.daily_dose_steps([*ENTRIES, morphine], until=JUN)] == [
        "daily dose, mcg/day", "daily dose, mg/day"]


def test_refills_are_points_and_rows_are_newest_first():
    points = history.refill_points(ENTRIES)
    assert (points.xs, points.ys) == ((MAR.timestamp(),), (18.0,))
    rows = history.rows(ENTRIES)
    assert [row[1] for row in rows] == ["bolus", "program written", "refill", "program written"]
    assert rows[1][2:] == ("baclofen", "200 mcg/day", "1000 mcg/mL", "", "", "osei")
    assert rows[2][5] == "18 mL"
    assert history.count_text(ENTRIES[:1]).startswith("1 entry, ")


def test_the_dates_shown_run_from_the_first_step_to_now_with_each_refill_bar_whole():
    steps = history.daily_dose_steps(ENTRIES, until=JUN) + history.concentration_steps(ENTRIES, until=JUN)
    assert history.date_span(steps, history.refill_points(ENTRIES)) == (JAN.timestamp(), JUN.timestamp())
    refills = history.refill_points([entry(JAN, "refill", volume_ml=18.0), entry(MAR, "refill", volume_ml=17.0)])
    # Jan 1 to Mar 1 is 59 days: the bars are 59 days / 60 wide, and half of one sticks out at either end
    half = 59 * 86400 / 60 / 2
    assert history.date_span([], refills) == (JAN.timestamp() - half, MAR.timestamp() + half)
    assert history.date_span([], history.refill_points([])) is None


@dataclass(frozen=True)
class Entry:
    seq: int
    record: dict
    hash: str = "0" * 64


def test_audit_rows_newest_first_with_the_signed_in_user():
    records = [Entry(1, {"time": "2026-03-01T09:00:00+00:00", "clinician": "Dr A. Osei", "user": "osei",
                         "role": "clinician", "patient": "TEST-0001", "pump_serial": "E20-AAAAAA", "action": "write",
                         "event": "attempt", "outcome": None}),
               Entry(2, {"time": "2026-03-01T09:00:02+00:00", "clinician": "Dr A. Osei", "action": "write",
                         "event": "outcome", "outcome": "verified", "message": "written and verified"})]
    rows = audit_rows.rows(records)
    assert [row[0] for row in rows] == ["2", "1"]
    assert rows[1][2:9] == ("Dr A. Osei", "clinician", "TEST-0001", "E20-AAAAAA", "write", "attempt", "")
    assert rows[0][8:] == ("verified", "written and verified")


def test_an_audit_filter_typed_wrong_names_its_field_and_dates_are_whole_days():
    wanted, problems = audit_rows.read_filter(" TEST-0001 ", "", "write", "2026-03-01", "2026-03-31")
    assert problems == [] and (wanted.patient, wanted.username, wanted.action) == ("TEST-0001", None, "write")
    assert wanted.since is not None and wanted.until is not None
    assert wanted.until - wanted.since == timedelta(days=31)  # the last day included
    assert audit_rows.read_filter("", "", "", "2026-13-01", "2026-03-01")[1] == [
        "From: a date as YYYY-MM-DD, not '2026-13-01'"]
    assert audit_rows.read_filter("", "", "", "2026-03-02", "2026-03-01")[1] == ["To: not before From (2026-03-02)"]

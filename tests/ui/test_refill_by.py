"""The Overview's refill-by and replace-by dates, on the pump's clock, and its "Save refill reminder..." button."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import icalendar

from programmer.port import Alarm
from tests.support.ui_fakes import snapshot
from ui.overview import OverviewPage


def overview(qtbot, taken) -> OverviewPage:
    page = OverviewPage()
    qtbot.addWidget(page)
    page.show_snapshot(taken)
    return page


def test_the_overview_shows_the_refill_by_with_its_reason_on_the_pump_clock(qtbot):
    # 14 mL, alarm at 2 mL, 0.3 mL/day from Mon 2 Mar 2026 00:00: the alarm in 40 days (11 Apr), less a week.
    page = overview(qtbot, snapshot())
    assert page.next_visit.values["refill_by"].text() == (
        "Sat 04 Apr 2026 00:00 (pump clock)\nset by the low-reservoir alarm, less a week's margin")
    assert page.next_visit.values["replace_by"].text() == "not projected while the battery is OK"
    assert page.save_reminder.isEnabled()


def test_at_eri_the_overview_shows_the_replace_by_which_also_sets_the_refill_by(qtbot):
    taken = snapshot()
    eri = replace(taken.status, battery_status="eri", battery_percent=3.0,
                  alarms=(Alarm("eri", "non_critical", datetime(2026, 1, 1)),))
    page = overview(qtbot, replace(taken, status=eri))
    # ERI since 1 Jan 2026 + 90 days = Wed 1 Apr 2026, before the low alarm's 4 Apr.
    assert page.next_visit.values["replace_by"].text() == (
        "Wed 01 Apr 2026 00:00 (pump clock)\nthe battery's projected end of service")
    assert page.next_visit.values["refill_by"].text() == (
        "Wed 01 Apr 2026 00:00 (pump clock)\n"
        "set by the battery's projected end of service (plan the pump's replacement)")


def test_the_refill_reminder_is_saved_as_a_calendar_event_or_says_why_not(qtbot, tmp_path):
    page = overview(qtbot, snapshot())
    suggested = []
    page.choose_path = lambda parent, path: suggested.append(path) or tmp_path / "reminder.ics"
    with qtbot.waitSignal(page.reminder_saved, timeout=1000) as said:
        page.save_reminder.click()
    assert suggested[0].name == "E20-000123-refill-by-2026-04-04.ics"
    [event] = icalendar.Calendar.from_ical((tmp_path / "reminder.ics").read_bytes()).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2026, 4, 4, 0, 0) and "E20-000123" in event["summary"]
    saved = tmp_path / "reminder.ics"
    assert said.args == [f"Saved the refill reminder (Sat 04 Apr 2026 00:00 (pump clock)) to {saved}."]
    assert page.reminder_note.text() == said.args[0]

    target = tmp_path / "no such folder" / "reminder.ics"
    page.choose_path = lambda parent, path: target
    with qtbot.waitSignal(page.reminder_failed, timeout=1000) as said:
        page.save_reminder.click()
    assert said.args[0].startswith(f"The refill reminder was NOT saved to {target}") and not target.parent.exists()


def test_a_pump_without_a_drug_has_no_refill_by_and_nothing_to_save(qtbot):
    taken = snapshot()
    page = overview(qtbot, replace(taken, active=replace(taken.active, drug=None, program=None)))
    assert page.next_visit.values["refill_by"].text() == "none: the pump holds no drug"
    assert not page.save_reminder.isEnabled()

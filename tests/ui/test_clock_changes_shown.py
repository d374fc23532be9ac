"""The DST warning on the Overview and in the clock's confirmation, in a fixed zone (``$TZ``): quick, no pump.

The fake reading (tests/support/ui_fakes.py) is a pump at 2026-03-02 00:00 running 150 mcg/day (6.25 mcg an hour)
with 14 mL: its refill-by date is in April, after Berlin's change of 2026-03-29 02:00 (01:00 UTC), when the
pump will read 02:00.
"""

from __future__ import annotations

from tests.support.ui_fakes import snapshot
from ui.overview import OverviewPage

BERLIN_SPRING = ("On 2026-03-29 at 02:00 clocks go forward 1 h (Europe/Berlin): until the pump clock is set again, "
                 "every step of the program starts 1 h late by the wall clock. Setting the pump clock right after "
                 "the change skips the 02:00-03:00 of its program (pump clock): 6.25 mcg less that day.")


def test_the_overview_and_the_clock_dialog_warn_of_the_change_with_its_date(qtbot, monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    page = OverviewPage()
    qtbot.addWidget(page)
    page.show_snapshot(snapshot())
    assert not page.dst_note.isHidden() and page.dst_note.text() == f"Warning: {BERLIN_SPRING}"
    page.set_clock.click()
    assert [label.text() for label in page.clock_dialog.ahead] == [f"Clock change ahead: {BERLIN_SPRING}"]
    page.clock_dialog.reject()


def test_no_warning_in_a_zone_without_dst(qtbot, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    page = OverviewPage()
    qtbot.addWidget(page)
    page.show_snapshot(snapshot())
    assert page.dst_note.isHidden() and page.clock_changes == []

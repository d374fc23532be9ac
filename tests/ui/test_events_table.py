"""The Events table as a clinician uses it: a description too long for its column cut at a word with an
ellipsis, never between a figure and its unit, and whole one keypress (the details pane) or one pointer's
rest (the tooltip) away; rows of one line and one height whatever the text; columns that fit every figure and
kind; sorting and filtering that keep the chosen event.

Column widths are set from the font in each test (``description_room``), so every expected cut is the one
counted by hand in the text, whatever the font of the machine."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QHelpEvent
from PySide6.QtWidgets import QApplication, QStyle, QTableWidget, QTableWidgetItem, QToolTip

from programmer.port import PumpEvent
from tests.support.layout_check import cell_problems, shown_text
from ui.events import EventsPage, NO_SELECTION
from ui.view_models.event_rows import DESCRIPTION, INDEX, KIND, TIME
from ui.widgets import WordCutDelegate

REFILL = {"added_ml": 14.0, "calculated_ml": 0.0, "checksum": "56a055acfc58fead", "withdrawn_ml": 0.0,
          "drug": {"concentration_per_ml": 500.0, "dose_unit": "mcg", "name": "baclofen"},
          "refill_id": "d4eb652d97ac4e59ab060aa8eda2588d", "therapy_stopped": False}
SENTENCE = ("added 14\u00a0mL, withdrawn 0\u00a0mL (pump had calculated 0\u00a0mL); drug baclofen 500\u00a0mcg/mL; "
            "therapy kept")
START = datetime(2026, 3, 2, 8, 0)


def page_with(qtbot, events: list[PumpEvent]) -> EventsPage:
    page = EventsPage()
    qtbot.addWidget(page)
    page.resize(900, 400)
    page.setEnabled(True)
    page.show()
    page.show_events(events)
    qtbot.waitExposed(page)
    return page


def drawn(page: EventsPage, row: int) -> str:
    """A row's description as the table draws it now."""
    index = page.proxy.index(row, DESCRIPTION)
    return shown_text(page.table, index, page.table.visualRect(index))


def room_for(table, text: str) -> int:
    """The width of a column of ``table`` that holds ``text`` on one line exactly."""
    margin = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1
    return math.ceil(QFontMetricsF(table.font()).horizontalAdvance(text)) + 2 * margin + 1  # and the grid line


def description_room(qtbot, page: EventsPage, text: str) -> None:
    """Make the description column, which takes the width the others leave, exactly wide enough for ``text``."""
    wanted, header = room_for(page.table, text), page.table.horizontalHeader()
    page.resize(page.width() + wanted - header.sectionSize(DESCRIPTION), page.height())
    qtbot.waitUntil(lambda: header.sectionSize(DESCRIPTION) == wanted)


def test_a_long_description_is_cut_at_a_word_and_whole_one_keypress_away(qtbot):
    page = page_with(qtbot, [PumpEvent(0, START, "power_on", {"factory_new": True}),
                             PumpEvent(1, START + timedelta(minutes=5), "refill", REFILL)])
    # room up to the "dru" of "drug": "drug" cannot be shown whole, and the semicolon before it goes too
    description_room(qtbot, page, "added 14\u00a0mL, withdrawn 0\u00a0mL (pump had calculated 0\u00a0mL); dru")
    assert drawn(page, 0) == "added 14\u00a0mL, withdrawn 0\u00a0mL (pump had calculated 0\u00a0mL)\u2026"
    assert drawn(page, 1) == "first switch-on of a factory-new pump"  # fits: whole, no ellipsis
    assert page.proxy.index(0, DESCRIPTION).data() == SENTENCE  # what a screen reader and the export read
    assert not cell_problems(page.table)

    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Down)  # to the first row, the refill (newest first)
    assert page.table.currentIndex().row() == 0
    assert page.details.text().splitlines()[:2] == ["Refill, event 1, Mon 02 Mar 2026 08:05:00 (pump clock)",
                                                   SENTENCE]


def test_the_tooltip_of_a_cut_description_holds_it_whole(qtbot):
    page = page_with(qtbot, [PumpEvent(0, START, "refill", REFILL)])
    description_room(qtbot, page, "added 14\u00a0mL, withdrawn 0\u00a0mL (pump had calculated\u2026")
    assert drawn(page, 0).endswith("\u2026")
    viewport = page.table.viewport()
    spot = page.table.visualRect(page.proxy.index(0, DESCRIPTION)).center()
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.Type.ToolTip, spot, viewport.mapToGlobal(spot)))
    try:
        qtbot.waitUntil(lambda: QToolTip.isVisible())
        assert QToolTip.text().splitlines()[1] == SENTENCE
    finally:
        QToolTip.hideText()
        qtbot.waitUntil(lambda: not QToolTip.isVisible())


def one_cell(qtbot, text: str) -> QTableWidget:
    """A table of one cell holding ``text``, drawn as the Events table draws a description."""
    table = QTableWidget(1, 1)
    qtbot.addWidget(table)
    table.setItemDelegate(WordCutDelegate(table))
    table.setWordWrap(False)
    table.setItem(0, 0, QTableWidgetItem(text))
    table.item(0, 0).setToolTip(text)
    table.show()
    return table


def cut_in(table: QTableWidget, room: str) -> str:
    table.setColumnWidth(0, room_for(table, room))
    index = table.model().index(0, 0)
    return shown_text(table, index, table.visualRect(index))


def test_the_cut_never_separates_a_figure_from_its_unit(qtbot):
    table = one_cell(qtbot, SENTENCE)
    assert cut_in(table, "added 14\u2026") == "added\u2026"  # "14" would fit, "14 mL" does not
    assert cut_in(table, "added 14\u00a0mL\u2026") == "added 14\u00a0mL\u2026"
    assert cut_in(table, "added 14\u00a0mL, with") == "added 14\u00a0mL\u2026"  # and no comma left hanging
    assert cut_in(table, "add") == "\u2026"  # not even the first word: the ellipsis alone says there is more
    assert not cell_problems(table)
    unit = one_cell(qtbot, "now 188\u00a0mcg/day, was 150\u00a0mcg/day")
    assert cut_in(unit, "now 188\u00a0mcg/") == "now\u2026"  # a unit is never cut at its slash


KINDS = [("power_on", {"factory_new": True}),
         ("program_activated", {"checksum": "d90bfded48050775", "daily_dose": 150.0, "dose_unit": "mcg",
                                "previous": "56a055acfc58fead", "previous_daily_dose": 0.0,
                                "previous_dose_unit": "mcg"}),
         ("refill", REFILL),
         ("alarm_raised", {"code": "eri", "severity": "non_critical"}),
         ("low_alarm_set", {"old_ml": 2.0, "new_ml": 4.5}),
         ("clock_set", {"old": "2026-05-31T23:59:00", "new": "2026-06-01T00:00:00"})]


def test_every_row_is_one_line_of_one_height_and_every_column_fits_its_widest_text(qtbot):
    # every kind above, at event numbers of five digits, on dates with the widest day and month names
    events = [PumpEvent(99_990 + n, datetime(2026, 9, 23, 23, 58, 58) + timedelta(days=n), *KINDS[n % len(KINDS)])
              for n in range(9)]
    page = page_with(qtbot, events)
    description_room(qtbot, page, "now 150\u00a0mcg/day, was 0\u00a0mcg/day\u2026")
    heights = {page.table.rowHeight(row) for row in range(page.proxy.rowCount())}
    assert heights == {page.table.rowHeight(0)} and page.table.rowHeight(0) < 2 * page.table.fontMetrics().height()
    assert not cell_problems(page.table)  # every figure, time and kind whole; descriptions cut only as promised
    assert any(drawn(page, row).endswith("\u2026") for row in range(page.proxy.rowCount()))


def test_a_larger_font_makes_the_rows_taller_and_the_columns_wider(qtbot):
    page = page_with(qtbot, [PumpEvent(0, START, "low_alarm_set", {"old_ml": 2.0, "new_ml": 4.5})])
    height, widths = page.table.rowHeight(0), [page.table.columnWidth(c) for c in (INDEX, TIME, KIND)]
    larger = QFont(page.table.font())
    larger.setPointSizeF(larger.pointSizeF() * 1.5)
    page.table.setFont(larger)
    qtbot.waitUntil(lambda: page.table.rowHeight(0) > height)
    assert all(page.table.columnWidth(c) > width for c, width in zip((INDEX, TIME, KIND), widths))
    assert not cell_problems(page.table)


def test_sorting_and_filtering_keep_the_chosen_event(qtbot):
    events = [PumpEvent(0, START, "power_on", {"factory_new": True}),
              PumpEvent(1, START + timedelta(hours=2), "low_alarm_set", {"old_ml": 2.0, "new_ml": 4.5}),
              PumpEvent(2, START + timedelta(hours=1), "clock_set",  # the clock set an hour back
                        {"old": "2026-03-02T11:00:00", "new": "2026-03-02T09:00:00"}),
              PumpEvent(3, START + timedelta(hours=3), "power_on", {"factory_new": False})]
    page = page_with(qtbot, events)

    def shown() -> list[int]:
        return [int(page.proxy.index(row, INDEX).data()) for row in range(page.proxy.rowCount())]

    assert shown() == [3, 2, 1, 0]  # newest first
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Down)
    qtbot.keyClick(page.table, Qt.Key.Key_Down)  # event 2, the clock set back
    assert page.details.text().startswith("Clock set, event 2,")

    page.table.sortByColumn(TIME, Qt.SortOrder.AscendingOrder)  # 08:00, 09:00, 10:00, 11:00
    assert shown() == [0, 2, 1, 3]
    assert page.table.currentIndex().row() == 1 and page.details.text().startswith("Clock set, event 2,")
    assert page.table.selectionModel().isRowSelected(1)

    page.table.sortByColumn(KIND, Qt.SortOrder.DescendingOrder)  # power_on, low_alarm_set, clock_set
    assert shown() == [0, 3, 1, 2]  # the two power_on in the log's order
    assert page.table.currentIndex().row() == 3

    page.kind.setCurrentIndex(page.kind.findData("power_on"))  # the chosen event is not shown any more
    assert shown() == [0, 3] and page.count.text() == "2 of 4\u00a0events shown."
    assert not page.table.currentIndex().isValid() and page.details.text() == NO_SELECTION
    qtbot.keyClick(page.table, Qt.Key.Key_Down)
    page.kind.setCurrentIndex(0)  # back to all: the one chosen since stays chosen
    assert shown() == [0, 3, 1, 2] and page.count.text() == "4 of 4\u00a0events shown."
    assert page.details.text().startswith("Switched on, event 0,")


def test_the_columns_stay_put_from_one_log_to_the_next(qtbot):
    page = page_with(qtbot, [])
    widths = [page.table.columnWidth(column) for column in (INDEX, TIME, KIND, DESCRIPTION)]
    page.show_events([PumpEvent(n, START + timedelta(hours=n), *KINDS[n % len(KINDS)]) for n in range(40)])
    assert [page.table.columnWidth(column) for column in (INDEX, TIME, KIND, DESCRIPTION)] == widths
    assert page.table.verticalScrollBar().isVisible()  # there before the long log, so nothing narrowed

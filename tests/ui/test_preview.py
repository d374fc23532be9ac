"""The preview after edits: what a clinician reads on it stays right (ranges that cover the lines, round tick
labels, axis titles with units, the low-alarm line, the dated markers), though an edit now redraws only what
changed; and one keystroke gives one preview update, not several.

The pump is the hand-made ITB-20 of tests/support/ui_fakes.py at midnight on Mon 2 Mar 2026 (cycle phase 0),
with 14 mL of baclofen 500 mcg/mL, a 2 mL low alarm, running the four-step day below: 5, 8, 6 and 7 mcg/h from
00:00, 06:00, 14:00 and 22:00, 5*6 + 8*8 + 6*8 + 7*2 = 156 mcg/day, 0.312 mL/day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPicture
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from programmer.library import load_library
from tests.support.ui_actions import shown
from tests.support.ui_fakes import PUMP_TIME, program, snapshot
from ui.editor import DOSE, ProgramEditor
from ui.preview import PreviewPlots
from ui.view_models.series import posix, round_step

FLEX_DAY = {"mode": "flex", "cycle_days": 1, "steps": [
    {"day": 1, "start": "00:00", "dose_per_hour": 5.0}, {"day": 1, "start": "06:00", "dose_per_hour": 8.0},
    {"day": 1, "start": "14:00", "dose_per_hour": 6.0}, {"day": 1, "start": "22:00", "dose_per_hour": 7.0}]}
START = posix(PUMP_TIME)
DAY_S = 86400


class Page(QWidget):
    """The editor and the preview side by side, wired as on the Program page, counting the preview's updates."""

    def __init__(self) -> None:
        super().__init__()
        self.editor, self.plots = ProgramEditor(load_library()), PreviewPlots()
        layout = QHBoxLayout(self)
        layout.addWidget(self.editor)
        layout.addWidget(self.plots, 1)
        self.editor.evaluated.connect(lambda ev: self.plots.show_plans(ev.review.current_plan if ev.review else None,
                                                                       ev.review.plan if ev.review else None))
        self.updates = 0
        self.plots.drawn.connect(self._count)

    def _count(self) -> None:
        self.updates += 1


@pytest.fixture
def page(qtbot):
    page = shown(qtbot, Page(), (1200, 800))
    page.editor.set_snapshot(snapshot(program(FLEX_DAY)))
    return page


def type_dose(page: Page, qtbot, row: int, text: str) -> None:
    """Open the dose cell of ``row`` (its text selected) and type ``text`` over it, key by key."""
    page.editor.table.setFocus()
    page.editor.table.setCurrentCell(row, DOSE)
    qtbot.keyClicks(QApplication.focusWidget(), text)


def drawn_labels(axis) -> list[str]:
    """The tick labels the axis draws now (pyqtgraph leaves out those that would run past its ends)."""
    picture = QPicture()
    painter = QPainter(picture)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _, _, text in specs[2]]


def assert_round_labels(axis, low: float, high: float) -> None:
    """Labels at consecutive multiples of one round step (1, 2 or 5 times a power of ten), inside the range."""
    values = [float(text) for text in drawn_labels(axis)]
    assert len(values) >= 3
    step = values[1] - values[0]
    assert round_step(step) == pytest.approx(step)
    assert all(value == pytest.approx(values[0] + index * step) for index, value in enumerate(values))
    assert low <= values[0] and values[-1] <= high


def label_text(marker) -> str:
    return marker.label.textItem.toPlainText()


def test_the_plots_after_an_edit_show_the_new_program_on_axes_that_cover_it(page, qtbot):
    plots = page.plots
    assert page.updates == 1  # the reading's first evaluation
    type_dose(page, qtbot, 1, "10")  # 06:00-14:00 from 8 to 10 mcg/h: 172 mcg/day, 0.344 mL/day
    assert page.updates == 3  # "1", then "10"

    hours, rates = plots.rate_items["proposed"].getData()
    assert list(hours) == [0, 6, 14, 22, 24] and list(rates) == [5, 10, 6, 7]
    assert list(plots.rate_items["current"].getData()[1]) == [5, 8, 6, 7]  # the pump's line is still drawn
    (left, right), (bottom, top) = plots.rate_plot.getViewBox().viewRange()
    assert (left, right) == pytest.approx((-0.24, 24.24))  # 0 to 24 h with 1 % margins
    assert (bottom, top) == (0, 12)  # 10 mcg/h and 15 %: 11.5, up to a step of 2 (a tenth of it, rounded)
    assert_round_labels(plots.rate_plot.getAxis("left"), 0, 12)
    assert_round_labels(plots.rate_plot.getAxis("bottom"), 0, 24)

    times, volumes = plots.volume_items["proposed"].getData()
    at = dict(zip(times, volumes))
    assert at[START] == 14 and at[START + 10 * DAY_S] == pytest.approx(14 - 10 * 0.344)
    assert dict(zip(*plots.volume_items["current"].getData()))[START + 10 * DAY_S] == pytest.approx(14 - 10 * 0.312)
    (left, right), (bottom, top) = plots.volume_plot.getViewBox().viewRange()
    assert left < START and right > START + 90 * DAY_S  # the 90 days and a margin either side
    assert (right - left) == pytest.approx(90 * DAY_S * 1.08)
    assert (bottom, top) == pytest.approx((-0.4, 20.4))  # the 20 mL reservoir, 2 % margins
    assert_round_labels(plots.volume_plot.getAxis("left"), 0, 20)
    labels = drawn_labels(plots.volume_plot.getAxis("bottom"))
    dates = [datetime.strptime(f"{text} 2026", "%d %b %Y") for text in labels]  # '09 Mar': no year to cross
    assert len(dates) >= 3 and len({b - a for a, b in zip(dates, dates[1:])}) == 1  # evenly spaced midnights
    assert PUMP_TIME - timedelta(days=4) <= dates[0] and dates[-1] <= PUMP_TIME + timedelta(days=94)

    assert plots.rate_plot.getAxis("left").labelText == "Dose rate (mcg/h)"
    assert plots.rate_plot.getAxis("bottom").labelText == "Hours from day 1 00:00 of the cycle (h)"
    assert plots.volume_plot.getAxis("left").labelText == "Reservoir (mL)"
    assert plots.volume_plot.getAxis("bottom").labelText == "Date (pump clock)"
    for plot in (plots.rate_plot, plots.volume_plot):  # the axes draw the grid: under the view box and its lines
        assert all(plot.getAxis(side).zValue() < plot.getViewBox().zValue() for side in ("left", "bottom"))
    assert plots.threshold.value() == 2 and plots.threshold.label.textItem.toPlainText() == "low alarm 2 mL"


def test_the_dated_markers_follow_the_edit_and_keep_the_pumps_dates(page, qtbot):
    markers = page.plots.markers
    # Now: 12 mL to the alarm, 38 days give 11.856 mL; the last 0.144 mL on day 39 are 0.06 by 06:00, then
    # 0.084 at 0.016 mL/h, 5.25 h: 11:15. Empty: 44 days give 13.728; the last 0.272 are 0.06 by 06:00,
    # 0.128 by 14:00, 0.084 at 0.012 mL/h, 7 h: 21:00.
    assert label_text(markers[("current", "low")]) == "low alarm (current)\nThu 09 Apr 2026 11:15"
    assert label_text(markers[("proposed", "empty")]) == "empty (proposed)\nWed 15 Apr 2026 21:00"
    type_dose(page, qtbot, 1, "10")
    # At 0.344 mL/day: the alarm on day 35 at 21:00; empty after 40 days and 13.76 mL, the last 0.24 are 0.06
    # by 06:00, 0.16 by 14:00, 0.02 at 0.012 mL/h, 1 h 40 min: 15:40.
    assert label_text(markers[("proposed", "low")]) == "low alarm (proposed)\nSun 05 Apr 2026 21:00"
    assert label_text(markers[("proposed", "empty")]) == "empty (proposed)\nSat 11 Apr 2026 15:40"
    assert markers[("proposed", "empty")].value() == START + (40 + (15 + 40 / 60) / 24) * DAY_S
    assert label_text(markers[("current", "low")]) == "low alarm (current)\nThu 09 Apr 2026 11:15"
    assert markers[("current", "empty")].value() == START + (44 + 21 / 24) * DAY_S


def test_each_keystroke_and_each_other_change_updates_the_preview_once(page, qtbot):
    assert page.updates == 1
    type_dose(page, qtbot, 2, "7.5")  # "7", "7.", "7.5" over the 6: each a new draft
    assert page.updates == 4
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Return)  # commits the same text again: nothing new
    assert page.updates == 4
    qtbot.keyClick(page.editor.add_button, Qt.Key_Space)  # a step added: the table is filled again, one update
    assert page.updates == 5 and page.editor.table.rowCount() == 5
    page.editor.cycle_days.setValue(2)
    assert page.updates == 6
    page.editor.mode.setCurrentIndex(page.editor.mode.findData("simple_continuous"))
    assert page.updates == 7
    page.editor.daily_dose.setFocus()
    page.editor.daily_dose.selectAll()
    qtbot.keyClicks(page.editor.daily_dose, "160")
    assert page.updates == 10


def test_a_new_reading_redraws_the_pumps_line_and_a_new_drug_renames_the_unit(qtbot):
    plots = PreviewPlots()
    qtbot.addWidget(plots)
    plots.resize(800, 600)
    plots.show()
    plots.show_plans(snapshot(program(FLEX_DAY)).forecast(), None)
    assert dict(zip(*plots.volume_items["current"].getData()))[START + 10 * DAY_S] == pytest.approx(14 - 3.12)
    plots.show_plans(snapshot(program(FLEX_DAY), volume_ml=12).forecast(), None)  # the same program, 2 mL less
    assert dict(zip(*plots.volume_items["current"].getData()))[START + 10 * DAY_S] == pytest.approx(12 - 3.12)
    morphine = {"name": "morphine", "dose_unit": "mg", "concentration_per_ml": 10}
    plots.show_plans(snapshot(program({"mode": "simple_continuous", "daily_dose": 2.4}, morphine)).forecast(), None)
    assert plots.rate_plot.getAxis("left").labelText == "Dose rate (mg/h)"
    assert list(plots.rate_items["current"].getData()[1]) == [pytest.approx(0.1)]  # 2.4 mg/day over 24 h
    # 0.1 mg/h and 15 %: 0.115; a tenth of it, 0.0115, rounds up to a step of 0.02
    assert plots.rate_plot.getViewBox().viewRange()[1] == pytest.approx([0, 0.12])
    plots.show_plans(None, None)
    assert len(plots.rate_items["current"].getData()[0] or []) == 0

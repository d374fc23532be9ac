"""One date format with its clock named, on the Overview, the Events page and the plots; units that never
wrap; plot text that can be read (WCAG contrast computed from the colours themselves)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel

from programmer.port import Alarm, PumpEvent
from tests.support.ui_fakes import PUMP_TIME, program, snapshot
from ui.view_models import palette
from ui.events import EventsPage
from ui.view_models.format import (COMPUTER_CLOCK, PUMP_CLOCK, clock_difference, dated, file_time, moment, moment_and_days,
                       quantity)
from ui.overview import OverviewPage
from ui.preview import PreviewPlots
from ui.view_models.series import posix, tick_format

MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
DATE = rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d {MONTH} \d{{4}} \d\d:\d\d(?::\d\d)?"
CLOCK = rf"\((?:{PUMP_CLOCK}|{COMPUTER_CLOCK})\)"
DATED = re.compile(rf"{DATE}(?: \((?:in [\d.]+\u00a0days|now|never)\))? {CLOCK}")
DATE_LIKE = re.compile(rf"\d{{4}}-\d\d-\d\d|\d\d?:\d\d|\b\d\d? {MONTH}\b")
CYCLE_TIME = re.compile(r"\bday \d+ \d\d:\d\d\b")
"""A time in the cycle ('day 1 08:00'), not a date: it is on no clock."""


def stray_dates(text: str, clock_named_elsewhere: bool = False) -> list[str]:
    """Anything date-like in ``text`` that is not a date in the one format with its clock named after it
    (or, for a table cell, named by its column: ``clock_named_elsewhere``)."""
    allowed = DATE if clock_named_elsewhere else DATED.pattern
    rest = CYCLE_TIME.sub("", re.sub(allowed, "", text))
    return DATE_LIKE.findall(rest)


# --- the formats -------------------------------------------------------------------------------------------


def test_the_formats_the_clock_check_and_the_export_import_no_qt():
    """So they are tested, and usable, without a window (a fresh interpreter: this one has Qt loaded)."""
    modules = "ui.view_models.format, ui.view_models.palette, ui.view_models.clock_check, ui.view_models.event_text, ui.view_models.export, ui.view_models.series"
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_one_clinician_format_seconds_only_when_asked_and_iso_in_files():
    at = datetime(2026, 12, 1, 21, 58, 29, 600_000)
    assert moment(at) == "Tue 01 Dec 2026 21:58"
    assert moment(at, seconds=True) == "Tue 01 Dec 2026 21:58:30"  # rounded like the file
    assert dated(at, PUMP_CLOCK) == "Tue 01 Dec 2026 21:58 (pump clock)"
    assert dated(None, PUMP_CLOCK) == "never at this program"
    assert moment_and_days(at, 23.4 * 1440, PUMP_CLOCK) == "Tue 01 Dec 2026 21:58 (in 23.4\u00a0days) (pump clock)"
    assert file_time(at) == "2026-12-01T21:58:30" and file_time(None) == ""
    assert DATED.fullmatch(dated(at, COMPUTER_CLOCK, seconds=True))


def test_units_are_joined_by_a_no_break_space():
    assert quantity(6.25, "mcg/h") == "6.25\u00a0mcg/h"
    assert quantity(None, "mL") == "\u2014"


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "0~s"), (12.4, "12~s"), (250, "4~min 10~s"), (600, "10~min"), (3600, "1~h"),
    (29 * 3600 + 3 * 60 + 12, "29~h 3~min"), (-(29 * 3600 + 3 * 60), "29~h 3~min"),
    (2 * 86400, "2~days"), (3 * 86400 + 4 * 3600 + 1000, "3~days 4~h"),
])
def test_a_clock_difference_in_two_units_at_most(seconds, words):
    """~ stands for the no-break space between a number and its unit: no line ends between them."""
    assert clock_difference(seconds) == words.replace("~", "\u00a0")


# --- contrast --------------------------------------------------------------------------------------------


def test_contrast_is_computed_as_wcag_defines_it():
    assert palette.relative_luminance("#000000") == 0 and palette.relative_luminance("#ffffff") == 1
    assert palette.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert palette.contrast_ratio("#ffffff", "#777777") == pytest.approx(4.48, abs=0.01)  # the known near miss
    assert palette.contrast_ratio("#969696", "#ffffff") < 3.0  # pyqtgraph's default axis grey


@pytest.mark.parametrize("text", [palette.PLOT_TEXT, palette.CURRENT_LINE, palette.PROPOSED_LINE,
                                  palette.THRESHOLD_TEXT])
def test_everything_written_on_a_plot_reads_at_4_5_to_1(text):
    assert palette.contrast_ratio(text, palette.PLOT_BACKGROUND) >= palette.MIN_TEXT_CONTRAST


def test_plot_lines_reach_the_contrast_for_graphics_and_banners_that_for_text():
    assert palette.contrast_ratio(palette.THRESHOLD_LINE, palette.PLOT_BACKGROUND) >= palette.MIN_LINE_CONTRAST
    for background, foreground in palette.BANNER.values():
        assert palette.contrast_ratio(background, foreground) >= palette.MIN_TEXT_CONTRAST


# --- the plots -------------------------------------------------------------------------------------------


def test_the_plots_use_the_readable_colours_units_and_the_year_across_a_new_year(qtbot):
    plots = PreviewPlots()
    qtbot.addWidget(plots)
    plots.resize(800, 600)
    plots.show()
    december = replace(snapshot(), status=replace(snapshot().status, pump_time=datetime(2026, 12, 1)))
    plots.show_plans(december.forecast(), None)
    for plot in (plots.rate_plot, plots.volume_plot):
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            assert axis.pen().color().name() == axis.textPen().color().name() == palette.PLOT_TEXT
    assert plots.rate_plot.getAxis("left").labelText == "Dose rate (mcg/h)"
    assert plots.volume_plot.getAxis("bottom").labelText == "Date (pump clock)"
    axis = plots.volume_plot.getAxis("bottom")
    (left, right), _ = plots.volume_plot.getViewBox().viewRange()
    ticks = axis.tickValues(left, right, 700)[0][1]
    labels = axis.tickStrings(ticks, 1, 0)
    assert labels[0].endswith(" 2026") and labels[-1].endswith(" 2027")  # 90 days from 1 Dec runs into 2027
    assert plots._volume_text(posix(datetime(2026, 12, 5, 12))).startswith("Sat 05 Dec 2026 12:00 (pump clock): ")


def test_ticks_carry_the_year_only_when_the_view_crosses_one():
    assert tick_format(posix(datetime(2026, 3, 1)), posix(datetime(2026, 5, 30))) == "%d %b"
    assert tick_format(posix(datetime(2026, 12, 1)), posix(datetime(2027, 3, 1))) == "%d %b %Y"


# --- every date on the pages -------------------------------------------------------------------------------


def test_every_date_on_the_overview_is_in_the_format_with_its_clock(qtbot):
    flex = program({"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 6},
                                              {"start": "08:00", "dose_per_hour": 7}]})
    taken = snapshot(flex)
    taken = replace(taken, computer_time=PUMP_TIME + timedelta(hours=29, minutes=3),
                    status=replace(taken.status, alarms=(Alarm("low_reservoir", "non_critical", PUMP_TIME),)))
    page = OverviewPage()
    qtbot.addWidget(page)
    page.show_snapshot(taken)
    texts = [label.text() for label in page.findChildren(QLabel)] + [box.title() for box in
                                                                    page.findChildren(QGroupBox)]
    dated_texts = [text for text in texts if DATED.search(text)]
    assert len(dated_texts) >= 5  # title, pump time, low alarm, empty, the alarm's start
    assert not {text: stray_dates(text) for text in texts if stray_dates(text)}


def test_every_date_on_the_events_page_is_in_the_format_and_its_column_names_the_clock(qtbot):
    page = EventsPage()
    qtbot.addWidget(page)
    page.set_pump("E20-000123")
    page.show_events([PumpEvent(0, datetime(2026, 12, 1, 21, 58, 3), "power_on", {"factory_new": True}),
                      PumpEvent(1, datetime(2026, 12, 2, 22, 3, 10), "clock_set",
                                {"old": "2026-12-01T21:58:03", "new": "2026-12-02T22:03:10"})])
    model = page.model
    assert model.headerData(1, Qt.Horizontal) == "Time (pump clock)"
    for row in range(model.rowCount()):
        assert re.fullmatch(DATE, model.index(row, 1).data())
        for column in (0, 2, 3):
            text = model.index(row, column).data()
            assert not stray_dates(text, clock_named_elsewhere=text.startswith("pump clock set"))
        for line in model.index(row, 0).data(Qt.ToolTipRole).splitlines():  # with everything the pump logged
            assert not stray_dates(line, clock_named_elsewhere=line.startswith("pump clock set"))  # and the sentence
    assert "pump clock set from Tue 01 Dec 2026 21:58:03 to Wed 02 Dec 2026 22:03:10" in model.index(1, 3).data()

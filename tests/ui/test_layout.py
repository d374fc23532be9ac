"""Everything on screen can be read in full: review figures are never elided or hidden, plot labels never
overlap. Checked on the laid-out widgets at the default window size and a small one (each cell by
``layout_check``, which checks every page in tests/ui/test_layout_pages.py), and on the pure placement rules
behind the plots. The event log's descriptions, one line each and cut at a word when too long, are
tests/ui/test_events_table.py's."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import combinations

import pytest
from PySide6.QtWidgets import QLabel

from tests.support.layout_check import cell_problems, cut_words
from programmer.library import load_library
from tests.support.ui_fakes import program, snapshot
from tests.support.ui_actions import clinic_session
from ui.editor import DOSE, START
from ui.main_window import PROGRAM_TAB, REVIEW_TAB, MainWindow
from ui.view_models.format import units_whole
from ui.preview import PreviewPlots
from ui.view_models.series import LabelPlace, date_ticks, posix, stagger_labels, threshold_label_at_right
from ui.widgets import WrappedText

SIZES = [(1366, 900), (1024, 700)]


@pytest.fixture
def window(qtbot, tmp_path):
    window = MainWindow(load_library(), clinic_session(tmp_path))
    qtbot.addWidget(window)
    yield window
    window.close()


@pytest.mark.parametrize("size", SIZES)
def test_every_review_figure_is_shown_in_full(qtbot, window, size):
    window.resize(*size)
    window.show()
    window._show_snapshot(snapshot())  # as after an interrogation; no pump needed to lay out a screen
    window.show_tab(PROGRAM_TAB)
    editor = window.editor
    editor.mode.setCurrentIndex(editor.mode.findData("flex"))
    editor.table.item(0, DOSE).setText("5")
    editor.table.setCurrentCell(0, DOSE)
    for start, dose in (("07:00", "14"), ("13:00", "6"), ("21:00", "7")):
        editor.add_button.click()
        editor.table.item(editor.table.currentRow(), START).setText(start)
        editor.table.item(editor.table.currentRow(), DOSE).setText(dose)
    editor.review_button.click()
    table = window.review.table
    assert window.tabs.currentIndex() == REVIEW_TAB
    qtbot.waitUntil(lambda: table.isVisible() and not cell_problems(table))
    scroll = window.review.splitter.widget(0)
    assert table.width() <= scroll.viewport().width()  # no column cut off at the right either
    assert table.verticalHeader().length() <= table.viewport().height()  # no row below a scroll edge
    assert table.width() > window.review.plots.width()  # the figures get the larger part


@pytest.mark.parametrize(("size", "proposed_daily_dose", "threshold_at_right"), [
    ((800, 600), 160, True),    # all four dates in the middle of the horizon
    ((400, 460), 160, False),   # the same in the review's plots at 1024 x 700: the lowest date label
                                # comes down to the right end of the threshold, whose label moves left
    ((800, 600), 554, True),    # the proposed dates early, near the left end
    ((800, 600), 82.5, False),  # the proposed reservoir empties on day 85: a marker at the right end
])
def test_reservoir_plot_labels_do_not_overlap_or_leave_the_plot(qtbot, size, proposed_daily_dose,
                                                               threshold_at_right):
    plots = PreviewPlots()
    qtbot.addWidget(plots)
    plots.resize(*size)
    plots.show()
    current = snapshot().forecast()
    proposed = snapshot(program({"mode": "simple_continuous", "daily_dose": proposed_daily_dose})).forecast()
    plots.show_plans(current, proposed)
    view = plots.volume_plot.getViewBox()
    labels = [marker.label for marker in plots.markers.values()] + [plots.threshold.label]

    def boxes():
        return [label.sceneBoundingRect() for label in labels]

    qtbot.waitUntil(lambda: all(view.sceneBoundingRect().contains(box) for box in boxes()))
    assert all(label.isVisible() for label in labels)
    for first, second in combinations(boxes(), 2):
        assert not first.intersects(second)
    threshold = plots.threshold.label.sceneBoundingRect()
    assert (threshold.center().x() > view.sceneBoundingRect().center().x()) == threshold_at_right


def test_date_ticks_are_midnights_and_weekly_ones_mondays():
    start = datetime(2026, 11, 28, 11, 29)
    first, last = posix(start), posix(start + timedelta(days=90))
    daily = date_ticks(first, last, 3600)
    assert datetime.fromtimestamp(daily[0]) == datetime(2026, 11, 29) and len(daily) == 90
    weekly = [datetime.fromtimestamp(t) for t in date_ticks(first, last, 3 * 86400)]
    assert weekly[0] == datetime(2026, 11, 30) and {t.weekday() for t in weekly} == {0}
    assert all(later - earlier == timedelta(days=7) for earlier, later in zip(weekly, weekly[1:]))
    sparse = [datetime.fromtimestamp(t) for t in date_ticks(first, last, 40 * 86400)]
    assert [later - earlier for earlier, later in zip(sparse, sparse[1:])] == [timedelta(days=56)]


def test_labels_stagger_down_and_turn_left_at_the_right_edge():
    places = stagger_labels([300, 100, 120], [(150, 30)] * 3, width=400, height=200, floor=20, gap=4)
    assert [(p.left, p.bottom, p.right, p.top, p.reads_right) for p in places] == [
        (150, 98, 300, 128, False), (100, 166, 250, 196, True), (120, 132, 270, 162, True)]
    assert not any(a.overlaps(b.left, b.bottom, b.right, b.top) for a, b in combinations(places, 2))


def test_labels_use_the_whole_height_before_overlapping():
    places = stagger_labels([10, 20, 30], [(50, 30)] * 3, width=400, height=100, floor=40, gap=4)
    assert [p.top for p in places] == [96, 62, 30]  # the floor is given up: three labels fit only without it
    squeezed = stagger_labels([10, 20, 30, 40], [(50, 30)] * 4, width=400, height=100, gap=4)
    assert [p.top for p in squeezed] == [96, 62, 30, 30]  # too small for four: the last two overlap, none is lost


def test_the_threshold_label_goes_to_the_end_clear_of_markers():
    label, base = (100, 20), 20

    def at_right(xs):
        return threshold_label_at_right(400, label, base, xs, stagger_labels(xs, [(150, 30)] * len(xs), 400, 300))

    assert at_right([150, 200])            # the right end is clear
    assert not at_right([150, 350])        # a line at the right: the left end is clear
    assert at_right([50, 350])             # both ends taken: the right end, as without markers
    low = [LabelPlace(200, 30, 350, 60, True)]  # a label squeezed down onto the right end of the line
    assert not threshold_label_at_right(400, label, base, [200], low)


def test_a_unit_is_never_split_at_its_slash(qtbot):
    """A line may end after a "/", so "0.376 mL/day" once showed as "0.376 mL/" and "day" on the next line; the
    labels and table cells that wrap show each unit's slash with a word joiner after it."""
    text = "runs 188\u00a0mcg/day (0.376\u00a0mL/day) of baclofen"
    label = WrappedText(text)
    qtbot.addWidget(label)
    metrics = label.fontMetrics()
    width = metrics.horizontalAdvance("runs 188\u00a0mcg/day (0.376\u00a0mL/") + 2  # "day)" would start a line
    assert "(0.376\u00a0mL/day)" in cut_words(label.font(), text, width)  # as a plain label would break it
    assert cut_words(label.font(), units_whole(text), width) == {}
    assert label.text() == text and QLabel.text(label) == units_whole(text) != text
    assert units_whole("dose 6.25\u00a0mcg/h, 2000\u00a0mcg/mL, 1/2 and and/or") == (
        "dose 6.25\u00a0mcg/\u2060h, 2000\u00a0mcg/\u2060mL, 1/2 and and/\u2060or")

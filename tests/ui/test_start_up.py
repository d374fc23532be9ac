"""The window's staged start-up (issue 11): it shows at once, builds its plots a part per turn of the event loop
afterwards, draws a reading or an edit that came before them once they are placed, and can be closed at any point
of the build without a crash or a thread left running. The drug library is checked after the plots, in a thread: until
it is approved nothing may be changed on a pump, and a reading that came first is drawn once it is. The other pages
are built a page per turn after the plots, or at the first showing of their tab, and none of their modules, nor
pydantic, the domain's models or the store, is imported before the window shows. Timing is
benchmarks/gui_stalls.py's and benchmarks/gui_startup.py's; these are behaviour.

The plots' modules (pyqtgraph) are imported by the GUI thread as the window is built, never by a thread while it is
up: PySide6 creates its Python types lazily, and two threads doing so at once crash the process (issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from PySide6.QtWidgets import QApplication

from programmer.library import load_library
from tests.support.emulator_fixtures import LOOPBACK_LINK
from tests.support.ui_actions import LINK_TIMEOUT_MS, clinic_session, wait_for_plots
from tests.support.ui_fakes import program, snapshot
from ui.app import create_window
from ui.main_window import (AUDIT_TAB, BOLUS_TAB, EVENTS_TAB, HISTORY_TAB, LIBRARY_NOT_READY, OVERVIEW_TAB,
                            PROGRAM_TAB, REVIEW_TAB, TRACE_TAB, MainWindow)

LIBRARY = load_library()
HELD_S = 30.0
"""Bound on how long the library's check is held back: the test lets it go long before."""


def rates(window: MainWindow, key: str) -> list[float]:
    """The dose rates drawn on the Program page's rate plot for ``key`` (current or proposed), mcg/h."""
    assert window.preview is not None
    drawn = window.preview.rate_items[key].getData()[1]
    return [] if drawn is None else list(drawn)


def wait_for_rates(qtbot, window: MainWindow, current: set[float], proposed: set[float]) -> None:
    """Until the plots show these rates (they are drawn at the turn of the event loop after the evaluation)."""
    qtbot.waitUntil(lambda: (set(rates(window, "current")), set(rates(window, "proposed"))) == (current, proposed))


def test_demo_shows_the_window_before_the_reading_then_the_plots_draw_the_pumps_program(qtbot, tmp_path):
    window = create_window(demo=True, audit_path=tmp_path / "audit.jsonl")
    qtbot.addWidget(window)
    try:
        assert window.isVisible() and window.snapshot is None and window.library is None
        assert not window.plots_ready  # nothing of the plots built before the window showed
        assert not window.link.busy  # the emulator starts once the library is approved: nothing sent before
        qtbot.waitUntil(lambda: window.link.busy, timeout=LINK_TIMEOUT_MS)
        assert window.library is not None
        qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy and window.plots_ready,
                        timeout=LINK_TIMEOUT_MS)
        # The demo patient's 150 mcg/day: 150 / 24 = 6.25 mcg/h; the draft is the pump's program, unedited.
        wait_for_rates(qtbot, window, {6.25}, {6.25})
        assert window.preview.threshold.value() == 2.0  # the demo pump's low-reservoir alarm, mL
        line = window.snapshot.status.line  # a 60 cm catheter, primed long ago: 0.15 + 60 x 0.0026 mL of the drug
        assert line is not None and line.catheter_cm == 60.0
        assert [(part.volume_ml, part.concentration_per_ml) for part in line.contents] == [(pytest.approx(0.306), 500.0)]
        qtbot.waitUntil(lambda: window.review.plots is not None, timeout=LINK_TIMEOUT_MS)  # then the review's
    finally:
        window.close()


def test_a_reading_and_an_edit_before_the_plots_are_built_are_drawn_once_they_are(qtbot, tmp_path):
    window = MainWindow(LIBRARY, clinic_session(tmp_path))
    qtbot.addWidget(window)
    window.show()
    window._show_snapshot(snapshot())  # no turn of the event loop yet: not a part of the plots is built
    window.editor.daily_dose.setText("180")
    window.editor.daily_dose.textEdited.emit("180")
    assert not window.plots_ready and window.editor.evaluation.entered == "180"
    wait_for_plots(qtbot, window)
    wait_for_rates(qtbot, window, {6.25}, {7.5})  # 150 and 180 mcg/day over 24 h
    window.show_tab(PROGRAM_TAB)
    qtbot.waitUntil(lambda: window.preview.isVisible())
    window.close()


def test_a_reading_after_the_plots_are_built_is_drawn_at_the_next_turn_of_the_event_loop(qtbot, tmp_path):
    window = MainWindow(LIBRARY, clinic_session(tmp_path))
    qtbot.addWidget(window)
    window.show()
    wait_for_plots(qtbot, window)
    window._show_snapshot(snapshot(program({"mode": "simple_continuous", "daily_dose": 120})))
    assert rates(window, "current") == []  # not in the reading's own turn
    QApplication.processEvents()
    assert set(rates(window, "current")) == {5.0}  # 120 mcg/day over 24 h
    window.close()


def test_closing_once_the_programs_plots_are_placed_builds_nothing_more(qtbot, tmp_path):
    window = MainWindow(LIBRARY, clinic_session(tmp_path))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.plots_ready, timeout=LINK_TIMEOUT_MS)
    assert window.review.plots is None  # the review's plots come after, a part per turn
    window.close()
    for _ in range(20):
        QApplication.processEvents()  # any turn a build step was still due in
    assert window.review.plots is None
    assert not window.link._thread.isRunning()


def test_closing_before_the_first_step_leaves_nothing_running(qtbot, tmp_path):
    before = set(threading.enumerate())
    window = MainWindow(LIBRARY, clinic_session(tmp_path))
    qtbot.addWidget(window)
    window.show()
    window.close()
    for _ in range(20):
        QApplication.processEvents()
    assert window.preview is None and window.review.plots is None
    assert not window.link._thread.isRunning()
    assert set(threading.enumerate()) <= before  # the plots' modules are imported by the GUI thread, with the window


def test_nothing_is_programmed_until_the_library_is_approved_and_a_reading_before_it_is_drawn_after(qtbot, tmp_path):
    go_on = threading.Event()

    def held_library():
        assert go_on.wait(HELD_S), "the test never let the check go on"
        return LIBRARY
    window = MainWindow(None, clinic_session(tmp_path), LOOPBACK_LINK, library_loader=held_library)
    qtbot.addWidget(window)
    window.show()
    try:
        wait_for_plots(qtbot, window)  # the window shows and builds its plots while the library is checked
        controls = window.visit_controls
        assert window.stack.currentWidget() is controls.lock_page
        assert controls.lock_text.text() == "Checking the drug library\u2026"
        window._show_snapshot(snapshot())  # a reading before the library: kept, shown on no page yet
        assert window.snapshot is not None and not window.built("overview") and not window.built("editor")
        # Every change is refused in the window's access path, whatever the controls show.
        window.set_clock()
        assert (window.banner.title.text(), window.banner.text.text()) == (
            "Clock not set.", f"Nothing was sent: {LIBRARY_NOT_READY}.")
        window.connected = True  # as if connected: the refill asks the library first
        window.open_refill()
        assert window.refill_wizard is None and window.banner.text.text() == f"Nothing was sent: {LIBRARY_NOT_READY}."
        window.connected = False
        assert not window.link.busy and window.link.url is None  # nothing sent
        go_on.set()
        qtbot.waitUntil(lambda: window.built("editor") and window.stack.currentWidget() is window.work,
                        timeout=LINK_TIMEOUT_MS)
        assert window.library is LIBRARY
        wait_for_rates(qtbot, window, {6.25}, {6.25})  # the reading's 150 mcg/day over 24 h, drawn now
        assert window.editor.daily_dose.text() == "150"
    finally:
        go_on.set()
        window.close()


def test_pages_are_built_a_page_per_turn_after_the_plots_or_at_the_first_showing_of_their_tab(qtbot, tmp_path):
    window = MainWindow(LIBRARY, clinic_session(tmp_path), LOOPBACK_LINK)
    qtbot.addWidget(window)
    built_ahead: list[bool] = []
    window.pages_built.connect(lambda: built_ahead.append(True))
    window.show()
    assert [window.tabs.tabText(tab) for tab in range(window.tabs.count())] == [
        "&1 Connect", "&2 Overview", "&3 Program", "&4 Review", "&5 Events", "&6 Bolus", "&7 History", "&8 Audit",
        "&9 Wire trace"]
    # Signed in on an open store, the window sets its access to changes at once, which builds the pages whose controls
    # it sets (the Overview, the Review, the Bolus page): the others wait, the editor for its turn.
    assert not any(window.built(name) for name in ("editor", "events", "history", "audit", "wire_trace"))
    window.tabs.setCurrentIndex(EVENTS_TAB)  # shown before its turn: built at once, in its tab
    assert window.tabs.currentIndex() == EVENTS_TAB
    assert window.built("events") and window.tabs.widget(EVENTS_TAB).isAncestorOf(window.events)
    assert window.events.isVisible()  # on screen in the tab being shown, not merely in it
    qtbot.waitUntil(lambda: bool(built_ahead), timeout=LINK_TIMEOUT_MS)
    assert window.built("editor") and window.review.plots is not None
    # The pages a visit reads now and then are built when their tab is first shown, not ahead.
    assert not any(window.built(name) for name in ("history", "audit", "wire_trace"))
    for tab, name in ((AUDIT_TAB, "audit"), (TRACE_TAB, "wire_trace"), (HISTORY_TAB, "history")):
        window.tabs.setCurrentIndex(tab)
        page = getattr(window, name)
        assert window.built(name) and window.tabs.widget(tab).isAncestorOf(page)
        assert page.isVisible() == (name != "history")
    # The History page's plots a part per turn from here; the page is shown once they are built and drawn.
    assert window.history.dose_plot is None
    qtbot.waitUntil(lambda: window.history.ready and window.history.isVisible(), timeout=LINK_TIMEOUT_MS)
    for tab, page in ((OVERVIEW_TAB, window.overview), (REVIEW_TAB, window.review), (BOLUS_TAB, window.bolus)):
        assert window.tabs.widget(tab).isAncestorOf(page)
    assert window.tabs.widget(PROGRAM_TAB).isAncestorOf(window.editor)
    split = window.program_split  # the editor built after the plots, left of them, the plots the larger part
    assert split.widget(0).isAncestorOf(window.editor) and split.widget(1) is window.preview
    assert [split.widget(index).sizePolicy().horizontalStretch() for index in (0, 1)] == [2, 3]
    window.close()


NOT_BEFORE_THE_WINDOW = ("pydantic", "programmer.program", "programmer.library", "programmer.planner",
                         "programmer.snapshot", "programmer.checks", "programmer.interrogation", "programmer.port",
                         "sqlalchemy", "cryptography", "ui.editor", "ui.review", "ui.bolus_page", "ui.overview",
                         "ui.events", "ui.history_page", "ui.audit_page", "ui.wire_trace_page")
"""What the window shows before (benchmarks/gui_startup.py): pydantic and the domain's models, the planner, the
store, the library's signature check and the pages built after the window shows; each would only make every start
slower, silently."""


def test_the_window_and_its_plots_need_none_of_the_domains_models_the_store_or_the_later_pages():
    # In a fresh interpreter: this one has long imported everything. The modules the window imports before it shows,
    # and those its plots are built from (imported as it is built).
    code = "import sys, ui.app, ui.preview; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}).stdout.split())
    assert {"ui.main_window", "ui.preview", "pyqtgraph"} <= loaded
    assert sorted(loaded & set(NOT_BEFORE_THE_WINDOW)) == []

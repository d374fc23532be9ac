"""Fixtures of the GUI tests: ``window``, the application's main window, shown and active; ``patient``, an
emulated pump set up as the demo patient; and, for every test here, a check that it left no window open
(a window one test forgot would take the keyboard focus and the screen of the next)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from tests.support.ui_actions import new_window
from ui.emulator import set_up_demo_patient


@pytest.fixture(autouse=True)
def no_window_left_open():
    """Fails a test that leaves a top-level window visible. A test without Qt (tests/ui/view_models) made no
    QApplication, and has no window to leave."""
    yield
    app = QApplication.instance()
    if app is None:
        return
    app.processEvents()
    left = [w for w in app.topLevelWidgets() if w.isVisible()]
    for widget in left:
        widget.close()
    # The test's widgets, which pytest-qt closed and asked Qt to delete (deleteLater), are deleted now: outside an
    # event loop Qt defers that to the next one that runs, so they piled up, thousands in a worker, and every
    # style or font change, and every collection of garbage, went through all of them.
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not left, f"windows left open: {[type(w).__name__ for w in left]}"


@pytest.fixture
def patient(start_emulator):
    """An emulated ITB-20 with baclofen 500 mcg/mL at 150 mcg/day and 14 mL, set up through the driver."""
    emulator = start_emulator("--service")
    set_up_demo_patient(emulator.url)
    return emulator


@pytest.fixture
def window(qtbot, tmp_path):
    window = new_window(qtbot, tmp_path)
    yield window
    window.close()

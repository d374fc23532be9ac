"""The inactivity sign-out's watch (``ui.inactivity``): a person's input at any of the application's windows starts
the wait again, the main window's and a dialog's that took the focus later; what Qt does on its own (painting,
laying out, resizing) does not; and once signed out, nothing is watched. Input is sent as the system sends it, to
the window (``QTest`` with a ``QWindow``), not to a widget directly."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QVBoxLayout

from tests.support.ui_actions import new_window

WAIT_MS = 10_000
"""The wait set for the test: long enough never to end in it, so only whether it started again is looked at."""
PASSED_MS = 100
"""Time let pass before each input, read from the timer itself."""


def started_again(timer) -> bool:
    return timer.remainingTime() > WAIT_MS - PASSED_MS


def wait_started_again(qtbot, timer) -> None:
    """Input sent to a window is delivered by the event loop, as the system's is."""
    qtbot.waitUntil(lambda: started_again(timer), timeout=2_000)


def let_time_pass(qtbot, timer) -> None:
    qtbot.waitUntil(lambda: timer.isActive() and not started_again(timer), timeout=5_000)


def test_input_at_a_window_starts_the_wait_again_and_the_windows_own_events_do_not(qtbot, tmp_path):
    window = new_window(qtbot, tmp_path)
    timer = window.visit_controls.inactivity.timer
    # Precise for the test: the window's timer counts minutes, coarsely (Qt moves its end by up to 5 %, so a start
    # again shortly after shows the same remaining time).
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(WAIT_MS)
    let_time_pass(qtbot, timer)
    window.resize(window.width() - 40, window.height() - 30)  # laid out, painted: nobody's input
    window.repaint()
    QApplication.processEvents()
    assert not started_again(timer)
    QTest.mouseMove(window.windowHandle(), QPoint(30, 30))
    wait_started_again(qtbot, timer)
    let_time_pass(qtbot, timer)
    QTest.keyClick(window.windowHandle(), Qt.Key.Key_Shift)
    wait_started_again(qtbot, timer)
    let_time_pass(qtbot, timer)
    QTest.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(5, 5))
    wait_started_again(qtbot, timer)

    dialog = QDialog(window)  # a window made after the watch began, which takes the focus
    QVBoxLayout(dialog).addWidget(QLineEdit())
    with qtbot.waitActive(dialog):
        dialog.show()
    let_time_pass(qtbot, timer)
    QTest.keyClick(dialog.windowHandle(), Qt.Key.Key_A)
    wait_started_again(qtbot, timer)
    dialog.close()

    window.visit_controls.sign_out("")
    assert window.visit_controls.locked and not timer.isActive()
    QTest.keyClick(window.windowHandle(), Qt.Key.Key_Shift)
    assert not timer.isActive()  # nobody is signed in: nothing to sign out
    window.close()

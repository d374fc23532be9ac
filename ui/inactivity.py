"""Automatic sign-out: after a stretch with no key pressed, no click and no mouse move in the application, the
window locks behind the sign-in dialog.

Why: a programmer left signed in at a bedside lets the next person change a pump in someone else's name, and the
audit would say it was the first. Why an application-wide event filter: any input anywhere (a dialog included)
is someone at the keyboard; one filter on the application sees it all, where a filter per widget would miss the
ones made later. A running write is not input, and is never cut: the lock only stops new changes being asked.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

ACTIVITY = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
                      QEvent.Type.TouchBegin, QEvent.Type.Shortcut})


class InactivityWatch(QObject):
    """Emits ``timed_out`` after ``timeout_ms`` without input while ``armed``; any input starts the wait again."""

    timed_out = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(timeout_ms)
        self.timer.timeout.connect(self.timed_out)

    @property
    def timeout_ms(self) -> int:
        return self.timer.interval()

    def arm(self) -> None:
        """Start watching (someone has just signed in). The filter is on the application only while armed: it is
        Python called for every event, thousands while the window is built and its plots drawn."""
        app = QApplication.instance()
        assert app is not None, "armed in a running application"
        app.installEventFilter(self)  # once: installing it again only moves it first
        self.timer.start()

    def disarm(self) -> None:
        """Stop watching (nobody is signed in: there is nothing to sign out)."""
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY and self.timer.isActive():
            self.timer.start()  # again from now
        return False

    def remove(self) -> None:
        """Stop watching the application (the window is closing)."""
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

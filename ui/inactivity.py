"""Automatic sign-out: after a stretch with no key pressed, no click and no mouse move in the application, the
window locks behind the sign-in dialog.

Why: a programmer left signed in at a bedside lets the next person change a pump in someone else's name, and the
audit would say it was the first. A running write is not input, and is never cut: the lock only stops new changes
being asked.

Why the filter is on the application's windows (``QWindow``), not on the application: a person's input reaches a
window first, from the system, before Qt hands it to the widget it is for; an application-wide filter also sees every
event Qt sends to every widget (a page built sends some ten thousand: its children added, laid out, polished and
painted), each one wrapped for Python and passed through it. That cost a test window 145 ms of its 550 ms of CPU and
held the GUI thread through every page build and paint. A window's filter sees the input and a few events of the
window itself. The windows are every top-level window there is when the watch is armed and every window that takes
the focus later (a dialog, a message), where keys go. Input it does not see only brings the sign-out sooner, never
later: a mouse moved over a window without the focus, with no key or click, and a key that is a shortcut (a menu's
keys, a field's Alt+letter), which Qt acts on before the key reaches the window.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QWindow

ACTIVITY = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
                      QEvent.Type.TouchBegin})


class InactivityWatch(QObject):
    """Emits ``timed_out`` after ``timeout_ms`` without input while ``armed``; any input starts the wait again."""

    timed_out = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(timeout_ms)
        self.timer.timeout.connect(self.timed_out)
        self._watching = False
        """True while armed: the windows there were are filtered, and each window that takes the focus is added."""

    @property
    def timeout_ms(self) -> int:
        return self.timer.interval()

    def arm(self) -> None:
        """Start watching (someone has just signed in): the application's windows now, and each window that takes
        the focus from now on."""
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication), "armed in a running application"
        if not self._watching:
            self._watching = True
            app.focusWindowChanged.connect(self._watch)
            for window in app.topLevelWindows():
                self._watch(window)
        self.timer.start()

    def disarm(self) -> None:
        """Stop watching (nobody is signed in: there is nothing to sign out; the window is closing)."""
        self.timer.stop()
        app = QGuiApplication.instance()
        if self._watching and isinstance(app, QGuiApplication):
            self._watching = False
            app.focusWindowChanged.disconnect(self._watch)
            for window in app.topLevelWindows():
                window.removeEventFilter(self)

    def _watch(self, window: QWindow | None) -> None:
        if window is not None:
            window.installEventFilter(self)  # again for a window watched already: it only moves the filter first

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY and self.timer.isActive():
            self.timer.start()  # again from now
        return False

"""SIGTERM, SIGINT and SIGHUP end the application the way its Quit action does.

Why this needs care: Python runs a signal handler only between bytecodes, and while Qt's event loop
waits in C nothing runs Python at all, so a plain ``signal.signal`` handler would fire late or never
(Ctrl+C in the terminal used to do nothing). ``signal.set_wakeup_fd`` has the C-level handler write the
signal's number into a socket; a ``QSocketNotifier`` on the other end wakes the event loop, which then
closes the window in order: the link thread finishes what it is doing (a write is never cut), the
bundled emulator saves its state and stops, its temporary files are removed, and the exit code is 0.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier

QUIT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class QuitOnSignals(QObject):
    """While it lives, each of ``QUIT_SIGNALS`` calls ``quit(name of the signal)`` on the GUI thread."""

    def __init__(self, quit: Callable[[str], None], parent: QObject | None = None):
        super().__init__(parent)
        self._quit = quit
        self._receive, self._send = socket.socketpair()
        for end in (self._receive, self._send):
            end.setblocking(False)
        self._notifier = QSocketNotifier(self._receive.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._signalled)
        self._previous_fd = signal.set_wakeup_fd(self._send.fileno(), warn_on_full_buffer=False)
        # The Python-level handler has nothing to do (the byte in the socket does the work), but it must
        # replace the defaults: SIGINT's raises KeyboardInterrupt at a random place, the others kill.
        self._previous = {signum: signal.signal(signum, _ignore) for signum in QUIT_SIGNALS}

    def _signalled(self) -> None:
        try:
            received = self._receive.recv(64)
        except BlockingIOError:
            return
        if received:
            self._quit(signal.Signals(received[0]).name)

    def restore(self) -> None:
        """Put the previous handlers back (the application has quit)."""
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._notifier.setEnabled(False)
        self._receive.close()
        self._send.close()


def _ignore(_signum: int, _frame: object) -> None:
    """Stands in for the default action; the wakeup socket reports the signal to the event loop."""

"""Run one slow call (a password's key derivation) off the GUI thread and hear its answer back on it.

Why not the pump link's thread: that thread is the pump's conversation, one request at a time, and a sign-in must
not wait behind a write nor hold one up. Why a thread at all: Argon2id is made to be slow (tens to hundreds of
milliseconds at the shipped cost), and no step of the GUI thread may hold it over 50 ms. The call's result, or the
exception it raised, comes back through a queued signal, so the slot runs on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal


class Background(QObject):
    """``run(call)`` starts ``call`` in a thread of its own; ``done(result)`` or ``failed(exception)`` follows on
    the thread that made this object. One call at a time: ``busy`` while it runs."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.busy = False
        self._thread: threading.Thread | None = None

    def run(self, call: Callable[[], object]) -> None:
        assert not self.busy, "one call at a time: the caller disables its button while busy"
        self.busy = True
        self._thread = threading.Thread(target=self._call, args=(call,), name="sign-in", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Until the call has ended (a window that closes does not leave it running behind it)."""
        if self._thread is not None:
            self._thread.join()

    def _call(self, call: Callable[[], object]) -> None:
        try:
            result = call()
        except Exception as exc:  # every failure comes back to be said, a bug too
            self._finish(self.failed, exc)
        else:
            self._finish(self.done, result)

    def _finish(self, signal, value: object) -> None:
        self.busy = False
        signal.emit(value)

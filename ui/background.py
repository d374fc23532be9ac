"""Run slow calls off the GUI thread, one after another, and hear each answer back on it.

What goes here: a password's key derivation, a session report, and every call the window makes to the clinic's store
(opening it, the demo's throwaway record, a visit's start and end, matching a pump read to a patient, binding it, the
dose history). Why not the pump link's thread: that thread is the pump's conversation, one request at a time, and a
sign-in or a lookup must not wait behind a write nor hold one up. Why a thread at all: Argon2id is made to be slow
(tens to hundreds of milliseconds at the shipped cost), opening a store imports SQLAlchemy and may wait for a server,
and no step of the GUI thread may hold it over 50 ms.

Why in order, in one thread per object: the clinic's calls depend on each other (a visit starts on an opened store, a
pump is matched in that visit), so each object runs its calls first come, first served; a later call sees what the
earlier ones did. Each answer, or the exception raised, comes back through a queued signal, so its slot runs on the
GUI thread, in the order the calls were made. Each is made while the window's pump link holds the GUI thread's
collector (``ui.gui_thread_gc``, for the window's life), so no cycle holding a Qt object is freed in this thread.

Why a call waits until the GUI thread has taken the answer before it (at most ``TAKEN_WAIT_S``): the two threads share
one interpreter lock. The demo's record, once open, unlocks the window, and the first layout and paint of its pages
call into Python hundreds of times (size hints, the plots, the inactivity filter); with the visit's start and the
pump's match running meanwhile in SQLAlchemy, each of those calls waited for the lock. The GUI thread then slept
25 ms of a 62 ms turn while both cores sat idle (the kernel's scheduler trace), and the turn was the one over 50 ms
left in ``benchmarks/gui_stalls.py``. The answer is taken at a timer of no interval, after the paint it caused; the
next call waits for that, a turn of the event loop (milliseconds), and the record is ready no later.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

TAKEN_WAIT_S = 0.2
"""The longest a call waits for the GUI thread to take the answer before it: a GUI thread held up longer (a step of
its own longer than that, a window gone without ``wait``) does not hold the calls behind it up for good."""


@dataclass(frozen=True)
class _Call:
    call: Callable[[], object]
    done: Callable[[object], None] | None
    failed: Callable[[Exception], None] | None


class Background(QObject):
    """``run(call)`` queues ``call`` for this object's thread; ``done(result)`` or ``failed(exception)`` follows on
    the thread that made this object, or the ``done``/``failed`` callables given to ``run`` instead. ``busy`` from
    ``run`` until the last queued call has been answered."""

    done = Signal(object)
    failed = Signal(object)
    _answered = Signal(object, object, bool)  # the _Call, its result or exception, whether it returned

    def __init__(self, parent: QObject | None = None, name: str = "background"):
        super().__init__(parent)
        self.name = name
        self._pending = 0
        """Calls queued or running, not answered yet; counted on the GUI thread only."""
        self._queue: collections.deque[_Call] = collections.deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._taken = threading.Event()
        """Set once the GUI thread has taken the last answer and painted what it changed: the next call waits for it
        (``TAKEN_WAIT_S`` at most)."""
        self._taken.set()
        self._ending = False
        """True while ``wait`` holds the GUI thread: the calls left run one after another, none waiting for it."""
        self._taken_timer = QTimer(self)
        self._taken_timer.setSingleShot(True)
        self._taken_timer.setInterval(0)  # a timer, not a posted call: it fires after the paint the answer made
        self._taken_timer.timeout.connect(self._taken.set)
        self._answered.connect(self._answer)

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def run(self, call: Callable[[], object], done: Callable[[object], None] | None = None,
            failed: Callable[[Exception], None] | None = None) -> None:
        """Queue ``call``; it runs after every call queued before it. Called on the GUI thread."""
        self._pending += 1
        with self._lock:
            self._queue.append(_Call(call, done, failed))
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name=self.name, daemon=True)
                self._thread.start()

    def wait(self) -> None:
        """Until every queued call has run (a window that closes does not leave one running behind it)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            with self._lock:
                self._ending = True
            self._taken.set()
            thread.join()
            self._ending = False

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                entry = self._queue.popleft()
            self._taken.wait(TAKEN_WAIT_S)
            with self._lock:
                if not self._ending:
                    self._taken.clear()  # until the GUI thread takes this call's answer
            try:
                result = entry.call()
            except Exception as exc:  # every failure comes back to be said, a bug too
                self._tell(entry, exc, False)
            else:
                self._tell(entry, result, True)

    def _tell(self, entry: _Call, value: object, returned: bool) -> None:
        """Send the answer to the GUI thread, unless the window that asked is gone: Qt has then deleted this object
        and its signal with it, and nobody is left to read the answer. The calls queued behind still run (a visit's
        end and the store's closing are among them)."""
        try:
            self._answered.emit(entry, value, returned)
        except RuntimeError:  # "Signal source has been deleted"
            pass

    def _answer(self, entry: _Call, value: object, returned: bool) -> None:
        self._pending -= 1
        self._taken_timer.start()
        if not returned:
            assert isinstance(value, Exception), "a call that did not return raised"
            if entry.failed is not None:
                entry.failed(value)
            else:
                self.failed.emit(value)
        elif entry.done is not None:
            entry.done(value)
        else:
            self.done.emit(value)

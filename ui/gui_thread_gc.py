"""Python's cycle collector, run on the GUI thread only, for as long as the pump link's thread runs.

CPython collects garbage cycles on whichever thread happens to allocate when a generation's count crosses its
threshold. The pump link runs a great deal of Python (the driver, the session's crypto, pydantic) on its own
thread, so a cycle that holds the wrapper of a Qt object, a closed dialog or a plot item, can be collected there
and the C++ object destroyed off the GUI thread. Qt does not allow that: it crashed a test worker, and a run hung
with the GUI thread and the link's thread each waiting on a lock while one of them was inside the collector.

So while a link thread is alive automatic collection is off, and a timer on the GUI thread does the collections
the interpreter would have done, by the interpreter's own thresholds. Reference counting, which frees nearly
everything, is untouched; only cycles wait, for at most one tick.

Each collection holds the GUI thread for as long as it walks the young objects, so the tick is short: what a burst
of work allocated is collected in small pieces (at 100 ms, a collection of the first generations took some 20 ms
after the plots were built). A full collection walks every object of the application (some 30 to 60 ms), so, as
the interpreter does, it runs only when the objects that survived into the oldest generation since the last one
are at least a quarter of those that were there then (``FULL_GROWTH``): without that rule it ran every eleventh
collection of the middle generation, a stall every few seconds of a busy window.
"""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, QTimer, Slot

TICK_MS = 20
"""How long a garbage cycle may wait for the collector: short against memory growth and against long collections of
what piled up between ticks, long against the timer's own overhead (a look at three counters)."""
FULL_GROWTH = 0.25
"""A full collection once the oldest generation has grown by this fraction since the last one (CPython's rule)."""


class _Collector(QObject):
    """Turns automatic collection off while at least one user holds it, and collects on its own timer."""

    def __init__(self) -> None:
        super().__init__()
        self._users = 0
        self._was_enabled = True
        self._long_lived = 0
        """How many objects the oldest generation held after the last full collection, or when collection was held."""
        self._pending = 0
        """How many have moved into it since (the survivors of collections of the middle generation)."""
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.collect_due)

    def hold(self) -> None:
        self._check_thread()
        if self._users == 0:
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._long_lived, self._pending = len(gc.get_objects(2)), 0  # the interpreter's own count is not public
            self._timer.start()
        self._users += 1

    def release(self) -> None:
        self._check_thread()
        if self._users == 0:
            raise RuntimeError("the GUI-thread collector was released more often than it was held")
        self._users -= 1
        if self._users == 0:
            self._timer.stop()
            gc.collect()  # whatever waited for the next tick, and everything the last link left behind
            if self._was_enabled:
                gc.enable()

    @Slot()
    def collect_due(self) -> None:
        """The oldest generation whose count is over its threshold, as the interpreter would pick it: the oldest
        only when it has grown enough since its last collection (``FULL_GROWTH``)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if not thresholds[generation] or counts[generation] <= thresholds[generation]:
                continue
            if generation == 2:
                if self._pending < FULL_GROWTH * self._long_lived:
                    continue
                gc.collect(2)
                self._long_lived, self._pending = len(gc.get_objects(2)), 0
            elif generation == 1:  # its survivors move to the oldest generation: the young ones, less the garbage
                young = len(gc.get_objects(0)) + len(gc.get_objects(1))
                self._pending += young - gc.collect(1)
            else:
                gc.collect(0)
            return

    def _check_thread(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the GUI-thread collector is held and released on the GUI thread only")


_collector: _Collector | None = None


def keep_start_up() -> None:
    """Move every object alive now out of the collector's sight for good (``gc.freeze``), for the application to
    call once its window is built: the modules and the window live as long as the process, yet a full collection
    walked them all, some 60 ms of the GUI thread; from here on it walks only what was made since. Not for a process
    that opens and closes window after window (the tests): what a closed window left would never be collected."""
    gc.freeze()


def hold() -> None:
    """Collect cycles on this (the GUI) thread only, until as many ``release()`` calls as ``hold()`` calls."""
    global _collector
    if _collector is None:
        _collector = _Collector()
    _collector.hold()


def release() -> None:
    """End one ``hold()``; the last one collects everything and gives collection back to the interpreter."""
    if _collector is None:
        raise RuntimeError("the GUI-thread collector was released before it was held")
    _collector.release()

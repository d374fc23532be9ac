"""Work done a step per turn of the event loop: the window's pages and plots after it shows, the History page's
plots one after another.

Why: building a page or drawing a plot holds the GUI thread for 10 to 40 ms; done all in one go they froze the window
for a quarter of a second and more (``benchmarks/gui_stalls.py``, 50 ms at most a step). A generator yields between
steps, and a single-shot timer with no interval runs the next step once the event loop has painted and taken the
input that came meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QObject, QTimer


class Turns(QObject):
    """Runs the steps it is given (generators), a step per turn of the event loop, one generator after another, in
    the order given. A child of the widget whose work it does: its timer stops with it."""

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._queue: list[Iterator[None]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # the next turn of the event loop, once what is pending is done
        self._timer.timeout.connect(self._step)

    @property
    def busy(self) -> bool:
        """True while some step is still to run (paused or not)."""
        return bool(self._queue)

    def add(self, steps: Iterator[None], start: bool = True) -> None:
        """Run ``steps`` after those given before; ``start`` False: only once ``resume`` is called."""
        self._queue.append(steps)
        if start:
            self._timer.start()

    def replace(self, steps: Iterator[None]) -> None:
        """Run ``steps`` instead of whatever was still to run (a drawing that a newer one makes pointless)."""
        self._queue = [steps]
        self._timer.start()

    def pause(self) -> None:
        """No further step until ``resume``."""
        self._timer.stop()

    def resume(self) -> None:
        if self._queue:
            self._timer.start()

    def _step(self) -> None:
        while self._queue:
            try:
                next(self._queue[0])
            except StopIteration:
                self._queue.pop(0)
            else:
                self._timer.start()
                return

"""Pump time: a naive local wall clock (the pump knows no time zone) that runs on simulated seconds.

Pump times are naive ``datetime`` values to the microsecond. The engine counts seconds as small floats from the
start of each run (exact to far below a microsecond) and ends each run exactly on the pump time asked for, so
cutting the time differently never moves the clock or the volumes.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable


CLOCK_END = datetime(9000, 1, 1)
"""The pump clock stops here. No pump lives so long, but a fast simulation can run there (``--speed``, SERVICE
``advance``), and past year 9999 a date cannot be written at all: the clock stands still at the end rather
than overflow, and everything that moves it forward stops at it."""

MAX_SPEED = 1e7
"""Fastest simulated clock (``--speed``, the control channel's ``speed``), simulated seconds per real second: 116
days a second, a ten-year soak in half a minute. Faster would skip more than a month between two runs of the engine
(every 0.25 s) and run the clock to its end (``CLOCK_END``) within hours."""


def wire_time(moment: datetime) -> str:
    """ISO 8601 local time without offset, to the second: how times travel on the wire (docs/protocol.md)."""
    return moment.isoformat(timespec="seconds")


def local_midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class SimClock:
    """Simulated seconds elapsed, at ``speed`` simulated seconds per real second of a monotonic clock.

    A monotonic clock is used so that changing the host's time never moves the pump: only SET_CLOCK does.
    """

    def __init__(self, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic):
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._monotonic = monotonic
        self._last = monotonic()

    def elapsed(self) -> float:
        """Simulated seconds since the previous call (or since the clock was made)."""
        now = self._monotonic()
        seconds = (now - self._last) * self.speed
        self._last = now
        return max(0.0, seconds)

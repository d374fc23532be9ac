"""Pump time: a naive local wall clock (the pump knows no time zone) that runs on simulated seconds.

Inside the engine a pump time is a float of seconds since 1970-01-01T00:00 *pump-local*; floats keep
the integration exact to well under a microsecond for centuries, and convert to ``datetime`` at the
edges (wire, state file, events).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Callable

_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)

CLOCK_END = datetime(9000, 1, 1)
"""The pump clock stops here. No pump lives so long, but a fast simulation can run there (``--speed``, SERVICE
``advance``), and past year 9999 a date cannot be written at all: the clock stands still at the end rather
than overflow, and everything that moves it forward stops at it."""


def to_seconds(moment: datetime) -> float:
    """Seconds since the pump epoch of a naive pump time."""
    return (moment - _EPOCH) / _SECOND


def from_seconds(seconds: float) -> datetime:
    """The naive pump time ``seconds`` after the pump epoch (rounded to the microsecond)."""
    return _EPOCH + timedelta(seconds=seconds)


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

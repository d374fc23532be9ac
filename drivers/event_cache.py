"""The events a driver has read from one pump in this session, so that each is read over the wire once.

Why it is safe: an event index names the same event for ever (docs/protocol.md section 11), so an event once
read never needs reading again while the driver talks to the same pump. Interrogation reads the newest page,
the events view then reads the whole log, and after a change only the new indices are asked for.

What it must not do is make the log look different from what the pump holds. So it also keeps what it
learnt about the log's shape: the latest ``total`` the pump reported (an index at or past it does not exist
yet), the log's size (events older than ``total - event_log_size`` are overwritten on the pump and are not
served from here either) and the lowest index still retained (an index below it was overwritten before it
was read: it stays a gap). Anything that contradicts what it holds (a smaller total, an index answered with
other contents, another pump) empties it, and the pump's answer is taken.
"""

from __future__ import annotations

from programmer.port import PumpEvent


class EventCache:
    """Events by index for one pump; ``plan`` says what to fetch, ``learn`` takes the answer, ``page`` serves."""

    def __init__(self) -> None:
        self.pump: tuple[str, str] | None = None
        self.clear()

    def clear(self) -> None:
        """Forget everything read: the next reads go to the pump."""
        self._events: dict[int, PumpEvent] = {}
        self.total: int | None = None
        self.log_size: int | None = None
        self._gone_below = 0

    def for_pump(self, model: str, serial: str) -> None:
        """The pump the events come from; another one empties the cache."""
        if self.pump != (model, serial):
            self.clear()
            self.pump = (model, serial)

    def set_log_size(self, size: int) -> None:
        if self.log_size not in (None, size):
            self.clear()
        self.log_size = size

    def plan(self, start: int, count: int) -> tuple[int, int] | None:
        """The smallest ``(start, count)`` to fetch so that ``page(start, count)`` is the pump's answer, or None
        when nothing is missing. A ``count`` of 0 always goes to the pump: it asks for the total now."""
        if count == 0 or self.total is None:
            return (start, count)
        low, end = max(start, self._floor()), min(start + count, self.total)
        missing = [index for index in range(low, end) if index not in self._events]
        if not missing:
            return None
        return missing[0], missing[-1] + 1 - missing[0]

    def learn(self, start: int, count: int, total: int, events: list[PumpEvent]) -> None:
        """The pump's answer for ``start <= index < start + count``: keep its events and what it shows of the log."""
        contradicted = (self.total is not None and total < self.total) or any(
            event.index in self._events and self._events[event.index] != event for event in events)
        if contradicted:
            size = self.log_size
            self.clear()
            self.log_size = size
        self.total = total
        self._events.update((event.index, event) for event in events)
        if events and events[0].index > start:
            self._gone_below = max(self._gone_below, events[0].index)
        elif not events and count and start + count <= total:
            self._gone_below = max(self._gone_below, start + count)
        floor = self._floor()
        for index in [index for index in self._events if index < floor]:
            del self._events[index]

    def page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        """The total and the events with ``start <= index < start + count`` as far as known (after ``plan``'s fetch)."""
        assert self.total is not None, "learn() has seen an answer"
        low, end = max(start, self._floor()), min(start + count, self.total)
        return self.total, [self._events[index] for index in range(low, end) if index in self._events]

    def _floor(self) -> int:
        """The lowest index the pump can still hold."""
        retained = 0 if self.log_size is None or self.total is None else self.total - self.log_size
        return max(self._gone_below, retained, 0)

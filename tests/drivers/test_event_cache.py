"""The driver's per-session event cache (drivers/event_cache.py), against a log held in the test: what it asks
the pump for, and that what it serves is what the pump would answer, gaps and overwritten events included."""

from __future__ import annotations

from datetime import datetime, timedelta

from drivers.event_cache import EventCache
from programmer.port import PumpEvent


def event(index: int, kind: str = "clock_set") -> PumpEvent:
    return PumpEvent(index, datetime(2025, 3, 1) + timedelta(minutes=index), kind, {"n": index})


class Log:
    """A pump's log: events ``first .. total - 1`` retained."""

    def __init__(self, total: int, first: int = 0) -> None:
        self.total, self.first = total, first

    def page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        return self.total, [event(index) for index in range(max(start, self.first), min(start + count, self.total))]


def read(cache: EventCache, log: Log, start: int, count: int, fetched: list) -> tuple[int, list[PumpEvent]]:
    """What the driver does: fetch what ``plan`` says, then serve the page."""
    wanted = cache.plan(start, count)
    if wanted is not None:
        fetched.append(wanted)
        cache.learn(*wanted, *log.page(*wanted))
    return cache.page(start, count)


def test_only_missing_indices_are_fetched_and_the_page_is_the_pumps():
    cache, log, fetched = EventCache(), Log(100), []
    assert read(cache, log, 0, 0, fetched) == (100, [])
    assert read(cache, log, 40, 20, fetched) == log.page(40, 20)
    assert read(cache, log, 30, 40, fetched) == log.page(30, 40)  # 30..39 and 60..69 missing: one span 30..69
    assert read(cache, log, 90, 64, fetched) == log.page(90, 64)  # nothing past the total is asked for
    assert read(cache, log, 35, 30, fetched) == log.page(35, 30)
    assert fetched == [(0, 0), (40, 20), (30, 40), (90, 10)]


def test_new_events_are_fetched_after_a_fresh_total():
    cache, log, fetched = EventCache(), Log(10), []
    read(cache, log, 0, 0, fetched)
    read(cache, log, 0, 16, fetched)
    log.total = 13
    assert read(cache, log, 0, 16, fetched) == (10, log.page(0, 10)[1])  # the total it knows: nothing new asked
    assert read(cache, log, 0, 0, fetched) == (13, [])
    assert read(cache, log, 0, 16, fetched) == log.page(0, 16)
    assert fetched == [(0, 0), (0, 10), (0, 0), (10, 3)]  # never past the total it knew


def test_events_overwritten_before_they_were_read_stay_a_gap_and_are_not_asked_again():
    cache, log, fetched = EventCache(), Log(300, first=44), []
    read(cache, log, 0, 0, fetched)
    total, events = read(cache, log, 32, 16, fetched)
    assert (total, [e.index for e in events]) == (300, [44, 45, 46, 47])
    assert read(cache, log, 0, 16, fetched) == (300, [])  # known to be gone: no exchange
    assert read(cache, log, 40, 8, fetched) == (300, [event(index) for index in range(44, 48)])
    assert fetched == [(0, 0), (32, 16)]


def test_events_the_pump_has_since_overwritten_are_not_served_from_the_cache():
    cache, log, fetched = EventCache(), Log(20), []
    cache.set_log_size(20)
    read(cache, log, 0, 0, fetched)
    read(cache, log, 0, 20, fetched)
    log.total, log.first = 25, 5  # five new events pushed the five oldest out
    read(cache, log, 0, 0, fetched)
    assert read(cache, log, 0, 16, fetched) == log.page(0, 16)
    assert fetched == [(0, 0), (0, 20), (0, 0)]  # 5..15 were read before and still are the pump's


def test_a_contradicting_answer_or_another_pump_empties_the_cache():
    cache, log, fetched = EventCache(), Log(30), []
    cache.for_pump("ITB-20", "E20-000001")
    read(cache, log, 0, 0, fetched)
    read(cache, log, 0, 16, fetched)
    cache.for_pump("ITB-20", "E20-000001")  # the same pump: kept
    assert read(cache, log, 0, 16, fetched) == log.page(0, 16) and len(fetched) == 2
    cache.for_pump("ITB-40", "E40-000002")  # another pump: forgotten
    assert cache.plan(0, 16) == (0, 16)
    read(cache, log, 0, 0, fetched)
    read(cache, log, 0, 16, fetched)
    cache.learn(0, 0, 12, [])  # a smaller total: not the log it read
    assert cache.plan(0, 8) == (0, 8)
    cache.learn(0, 8, 12, [event(index) for index in range(8)])
    cache.learn(7, 1, 12, [event(7, kind="power_on")])  # index 7 now holds something else
    assert cache.plan(0, 8) == (0, 7) and cache.page(7, 1) == (12, [event(7, kind="power_on")])

"""The event log's flood rule (emulator/events.py, docs/emulator.md "Event floods"): a burst of noisy events
(clock settings, refused frames, ...) takes at most RUN_PLACES places in a row, the rest is merged into one
event per kind, so the clinical events before it stay in the log; and no event a reader has seen ever changes.

The pump is driven through its own commands (``Pump.set_clock``, ``Pump.bolus``, ``Pump.read_events``) on a
fake clock, so every index and count below is worked out by hand from the rule. An ITB-40 keeps 512 events.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.event_cache import EventCache
from emulator.clock import SimClock, wire_time
from emulator.events import NOISY_KINDS, RUN_PLACES, log_event
from emulator.pump import Pump
from emulator.state import StateFileError, load_state
from programmer.port import PumpEvent
from tests.support.emulator_support import START, FakeMonotonic, make_pump, simple


def minutes(count: int) -> datetime:
    return START + timedelta(minutes=count)


@pytest.fixture
def pump(tmp_path) -> Pump:
    """A filled ITB-40 running 400 mcg/day of baclofen 500 mcg/mL; its log is empty (make_pump logs no power_on)."""
    pump, _ = make_pump(tmp_path / "pump.json", model="ITB-40", program=simple(400), volume_ml=20.0)
    return pump


def set_clock_minutes(pump: Pump, first: int, last: int) -> None:
    """SET_CLOCK to START + k minutes for k = first..last: each moves the clock forward 1 minute (the fake
    clock does not run in between)."""
    for minute in range(first, last + 1):
        pump.set_clock(minutes(minute))


def read_all(pump: Pump) -> list[dict]:
    """The whole log as a reader gets it: the total, then pages of 16 up to it."""
    total = pump.read_events(0, 0)["total"]
    return [event for start in range(0, total, 16) for event in pump.read_events(start, 16)["events"]]


def as_pump_event(event: dict) -> PumpEvent:
    return PumpEvent(event["index"], datetime.fromisoformat(event["time"]), event["kind"], event["detail"])


def moved_by(events: list[dict]) -> timedelta:
    """How far the clock_set events move the clock in all (what the programmer moves older times by)."""
    return sum((datetime.fromisoformat(event["detail"]["new"]) - datetime.fromisoformat(event["detail"]["old"])
                for event in events if event["kind"] == "clock_set"), timedelta(0))


def test_a_thousand_clock_settings_after_a_bolus_leave_the_bolus_in_the_log(pump):
    pump.bolus("b-1", dose=50.0, duration_min=10.0)  # index 0
    set_clock_minutes(pump, 1, 1000)  # 1000 > 512: one event each would push the bolus out
    # 8 places for the run (indices 1..8, minutes 1..8), the other 992 merged into index 9 at the read.
    events = read_all(pump)
    assert [event["index"] for event in events] == list(range(10))
    assert events[0]["kind"] == "bolus_started" and events[0]["detail"]["bolus_id"] == "b-1"
    assert [event["detail"]["new"] for event in events[1:9]] == [wire_time(minutes(k)) for k in range(1, 9)]
    assert events[9] == {"index": 9, "time": wire_time(minutes(1000)), "kind": "clock_set", "detail": {
        "old": wire_time(minutes(8)), "new": wire_time(minutes(1000)), "coalesced": 992,
        "first_time": wire_time(minutes(9))}}
    # Nothing of the clock's moves is lost: 1000 settings of 1 minute each.
    assert moved_by(events) == timedelta(minutes=1000)
    assert pump.state.held_events == []


def test_pages_read_during_a_flood_never_change_and_the_programmers_cache_stays_valid(pump):
    cache = EventCache()
    cache.set_log_size(pump.state.spec.event_log_size)
    seen: dict[int, dict] = {}

    def read(start: int, count: int) -> tuple[int, list[dict]]:
        """A page through the programmer's event cache; every event the pump sends is recorded by index."""
        wanted = cache.plan(start, count)
        if wanted is not None:
            page = pump.read_events(*wanted)
            for event in page["events"]:
                assert seen.setdefault(event["index"], event) == event, f"event {event['index']} changed"
            cache.learn(*wanted, page["total"], [as_pump_event(event) for event in page["events"]])
        total, events = cache.page(start, count)
        return total, [seen[event.index] for event in events]

    pump.bolus("b-1", dose=50.0, duration_min=10.0)  # index 0
    set_clock_minutes(pump, 1, 5)  # indices 1..5
    assert read(0, 0)[0] == 6 and [e["index"] for e in read(0, 16)[1]] == list(range(6))
    set_clock_minutes(pump, 6, 20)  # 6..8 take the run's last places; 9..20 are held
    assert read(0, 0)[0] == 10  # asking for the total flushes them: index 9 stands for 12 settings
    assert [e["index"] for e in read(0, 16)[1]] == list(range(10))
    assert seen[9]["detail"] == {"old": wire_time(minutes(8)), "new": wire_time(minutes(20)), "coalesced": 12,
                                 "first_time": wire_time(minutes(9))}
    set_clock_minutes(pump, 21, 500)  # the run is over its places: all 480 held, in a new event
    assert read(0, 0)[0] == 11
    assert read(10, 16)[1] == [seen[10]] and seen[10]["detail"]["coalesced"] == 480
    set_clock_minutes(pump, 501, 1000)  # 500 more held ...
    pump.cancel_bolus("b-1")  # ... flushed as index 11 before the bolus_cancelled (12) ends the run
    assert read(0, 0)[0] == 13
    events = read(0, 16)[1]
    assert [e["index"] for e in events] == list(range(13))
    assert events[11]["detail"]["coalesced"] == 500 and events[12]["kind"] == "bolus_cancelled"
    assert events[:11] == [seen[index] for index in range(11)]  # what was read before is unchanged ...
    assert cache.plan(0, 11) is None  # ... so the cache still holds it: it was never contradicted
    assert moved_by(events) == timedelta(minutes=1000)


def test_a_page_reaching_past_the_last_index_flushes_the_held_events_and_one_before_it_does_not(pump):
    pump.bolus("b-1", dose=50.0, duration_min=10.0)  # index 0
    set_clock_minutes(pump, 1, 20)  # indices 1..8, then 12 held
    page = pump.read_events(0, 9)  # indices 0..8: everything indexed, nothing past it
    assert page["total"] == 9 and len(page["events"]) == 9 and pump.state.held_events
    page = pump.read_events(5, 16)
    assert page["total"] == 10 and [event["index"] for event in page["events"]] == [5, 6, 7, 8, 9]
    assert page["events"][-1]["detail"]["coalesced"] == 12 and pump.state.held_events == []


def test_noisy_kinds_share_a_run_and_each_is_merged_into_its_own_event(pump):
    pump.bolus("b-1", dose=50.0, duration_min=10.0)  # index 0
    thresholds = [3.0, 2.0] * 5  # the factory threshold is 2 mL: each of these changes it
    for round_, threshold in enumerate(thresholds, start=1):
        pump.set_clock(minutes(round_))
        pump.set_low_alarm(threshold)
    # 20 events: the first 8 (4 rounds) at indices 1..8, then rounds 5..10 held, 6 of each kind.
    pump.cancel_bolus("b-1")
    events = read_all(pump)
    assert [event["kind"] for event in events] == (
        ["bolus_started"] + ["clock_set", "low_alarm_set"] * 4 + ["clock_set", "low_alarm_set", "bolus_cancelled"])
    clock, low = events[9]["detail"], events[10]["detail"]
    assert clock == {"old": wire_time(minutes(4)), "new": wire_time(minutes(10)), "coalesced": 6,
                     "first_time": wire_time(minutes(5))}
    # Round 5 set 3 mL (from 2), round 10 set 2 mL: the merged change goes from the first old to the last new.
    assert low == {"old_ml": 2.0, "new_ml": 2.0, "coalesced": 6, "first_time": wire_time(minutes(5))}


def test_a_flood_of_refused_frames_between_two_boluses_takes_nine_places(pump):
    pump.bolus("b-1", dose=50.0, duration_min=10.0)
    pump.cancel_bolus("b-1")  # indices 0 and 1
    for number in range(10_000):  # a hostile client's forged frames, one event each as the pump logs them
        log_event(pump.state, pump.state.pump_time, "frame_rejected", reason="forged", session=f"{number:016x}")
    pump.bolus("b-2", dose=50.0, duration_min=10.0)
    events = read_all(pump)
    assert [event["kind"] for event in events] == (
        ["bolus_started", "bolus_cancelled"] + ["frame_rejected"] * 9 + ["bolus_started"])
    assert [event["detail"]["session"] for event in events[2:10]] == [f"{number:016x}" for number in range(8)]
    assert events[10]["detail"] == {"reason": "forged", "session": f"{9999:016x}", "coalesced": 9992,
                                    "first_time": wire_time(START)}


def test_held_events_survive_a_restart_and_come_before_its_power_on(pump, tmp_path):
    pump.bolus("b-1", dose=50.0, duration_min=10.0)
    set_clock_minutes(pump, 1, 30)  # indices 1..8, then 22 held
    pump.save()
    held = load_state(tmp_path / "pump.json").held_events
    assert [(event.kind, event.coalesced) for event in held] == [("clock_set", 22)]
    again = Pump.power_on(tmp_path / "pump.json", "ITB-40", SimClock(1.0, FakeMonotonic()))
    events = read_all(again)
    assert [(event["index"], event["kind"]) for event in events[8:]] == [(8, "clock_set"), (9, "clock_set"),
                                                                          (10, "power_on")]
    assert events[9]["detail"]["coalesced"] == 22 and load_state(tmp_path / "pump.json").held_events == []


def test_a_few_noisy_events_are_logged_one_each_as_before(pump):
    for minute in range(1, RUN_PLACES + 1):
        pump.set_clock(minutes(minute))
    events = read_all(pump)
    assert len(events) == RUN_PLACES and all("coalesced" not in event["detail"] for event in events)


def test_a_state_file_with_two_held_events_of_one_kind_is_refused(pump, tmp_path):
    set_clock_minutes(pump, 1, 10)  # 8 in the log, 2 held as one
    document = pump.state.model_dump(mode="json")
    document["held_events"] *= 2
    (tmp_path / "pump.json").write_text(json.dumps(document))
    with pytest.raises(StateFileError, match="held_events holds two events of one kind"):
        load_state(tmp_path / "pump.json")


OTHER_KINDS = ("program_staged", "bolus_started", "alarm_raised")
steps = st.lists(st.sampled_from(sorted(NOISY_KINDS) + list(OTHER_KINDS) + ["read"]), max_size=300)


def detail_of(kind: str, time: datetime) -> dict:
    """A detail of the shape the pump logs for ``kind`` (the merge of clock_set and low_alarm_set reads it)."""
    if kind == "clock_set":
        return {"old": wire_time(time), "new": wire_time(time)}
    if kind == "low_alarm_set":
        return {"old_ml": 2.0, "new_ml": 3.0}
    return {"code": "eri"}


@given(steps)
def test_any_mix_of_events_and_reads_loses_nothing_changes_nothing_read_and_bounds_each_run(sequence):
    pump, _ = make_pump(model="ITB-40")  # 512 places: at most 300 events, none overwritten
    state = pump.state
    seen: dict[int, dict] = {}
    reads_per_run = [0]
    for step in sequence:
        if step == "read":  # what an interrogation asks: the total, then the newest page
            total = pump.read_events(0, 0)["total"]
            for event in pump.read_events(max(0, total - 16), 16)["events"]:
                assert seen.setdefault(event["index"], event) == event
            reads_per_run[-1] += 1
        else:
            log_event(state, state.pump_time, step, **detail_of(step, state.pump_time))
            if step in OTHER_KINDS:
                reads_per_run.append(0)
    events = read_all(pump)
    assert [event["index"] for event in events] == list(range(len(events)))
    assert all(seen.get(event["index"], event) == event for event in events)  # nothing read has changed
    logged = sum(step != "read" for step in sequence)
    assert sum(event["detail"].get("coalesced", 1) for event in events) == logged  # none lost, none twice
    # Between two other events, a run takes at most RUN_PLACES places, plus one a kind when it ends, plus one a
    # kind for each read in it that found events held.
    runs = [0]
    for event in events:
        if event["kind"] in NOISY_KINDS:
            runs[-1] += 1
        else:
            runs.append(0)
    assert len(runs) == len(reads_per_run)
    assert all(length <= RUN_PLACES + len(NOISY_KINDS) * (1 + reads) for length, reads in zip(runs, reads_per_run))

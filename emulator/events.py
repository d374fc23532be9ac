"""The pump's event log: bounded, oldest overwritten first, read in pages by READ_EVENTS, proof against floods.

Events are numbered from 0 when the pump is made and an index always names the same event; ``total``
is the number ever recorded (the next index). The pump keeps the last ``event_log_size`` and a page
holds the retained events with ``start <= index < start + count`` (docs/protocol.md section 11).

Why the flood rule: a bounded log overwrites its oldest events, so a burst of one harmless kind (256
SET_CLOCKs, or a hostile client's forged frames, each a ``frame_rejected``) would push the boluses, refills
and programs a clinician must see out of it. So the kinds that can come in bursts (``NOISY_KINDS``) may take
at most ``RUN_PLACES`` places in a row; past that, each further one is merged into a *held* event of its
kind, kept outside the log (``PumpState.held_events``) with no index yet. A held event is given the next
index (it is *flushed*) when any other kind is logged, which ends the run, or when READ_EVENTS asks for the
end of the log, so a reader always sees everything that happened. An event is only ever appended, complete:
no index ever changes meaning or content, so a page read earlier (and the programmer's cache of it,
drivers/event_cache.py) stays true. docs/emulator.md, "Event floods", states the rule for users.
"""

from __future__ import annotations

from datetime import datetime

from emulator.clock import wire_time
from emulator.state import EventRecord, HeldEvent, PumpState

NOISY_KINDS = frozenset({
    "clock_set", "alarm_acknowledged", "low_alarm_set", "session_started", "session_ended", "frame_rejected",
    "pairing_failed", "demand_refused",
})
"""Kinds a person or a client can repeat at will, none of them a delivery or a change of therapy (a patient may
press the demand button a thousand times in its lockout)."""
EVENT_KINDS = NOISY_KINDS | frozenset({
    "power_on", "program_staged", "program_activated", "bolus_started", "bolus_done", "bolus_cancelled",
    "refill", "alarm_raised", "alarm_cleared", "pairing_window_opened", "pairing_window_closed",
    "programmer_paired", "programmer_unpaired", "line_flushed", "demand_set", "demand_granted",
})
RUN_PLACES = 8
"""Places in the log noisy events may take in a row before further ones are merged (own choice): enough that an
ordinary session's few clock settings and acknowledgements stay separate, few enough that a run of them costs a
512-event log under 2 % of its length."""


def events_total(state: PumpState) -> int:
    return state.events[-1].index + 1 if state.events else 0


def log_event(state: PumpState, time: datetime, kind: str, /, **detail: object) -> None:
    """Record an event at pump time ``time``: appended to the log (overwriting the oldest when the model's
    log is full), or merged into the held event of its kind when it is noisy and its run has used its places."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if kind in NOISY_KINDS and _run_length(state) >= RUN_PLACES:
        _hold(state, time, kind, detail)
        return
    flush_held_events(state)
    _append(state, time, kind, detail)


def flush_held_events(state: PumpState) -> None:
    """Give the held events their indices, in the order they last happened; one that merged several carries
    ``coalesced`` (how many) and ``first_time`` (the first one's time) in its detail."""
    held, state.held_events = state.held_events, []
    for event in held:
        merged = {"coalesced": event.coalesced, "first_time": wire_time(event.first_time)}
        _append(state, event.time, event.kind, event.detail if event.coalesced == 1 else {**event.detail, **merged})


def event_page(state: PumpState, start: int, count: int) -> dict:
    """READ_EVENTS' answer: the retained events with start <= index < start + count (bounds checked by the caller).

    A request for the total (``count`` 0) or for a page past the last index flushes the held events first, so
    they are in the answer; afterwards they are ordinary events, never merged into again."""
    if state.held_events and (count == 0 or start + count > events_total(state)):
        flush_held_events(state)
    first = state.events[0].index if state.events else 0
    retained = state.events[max(0, start - first) : max(0, start + count - first)]
    return {
        "total": events_total(state),
        "events": [
            {"index": event.index, "time": wire_time(event.time), "kind": event.kind, "detail": event.detail}
            for event in retained
        ],
    }


def _append(state: PumpState, time: datetime, kind: str, detail: dict) -> None:
    state.events.append(EventRecord(index=events_total(state), time=time, kind=kind, detail=detail))
    del state.events[: max(0, len(state.events) - state.spec.event_log_size)]


def _run_length(state: PumpState) -> int:
    """How many places the current run of noisy events takes at the end of the log (counted up to RUN_PLACES)."""
    length = 0
    for event in reversed(state.events):
        if event.kind not in NOISY_KINDS or length >= RUN_PLACES:
            break
        length += 1
    return length


def _hold(state: PumpState, time: datetime, kind: str, detail: dict) -> None:
    """Merge the event into the held one of its kind (or start one), which becomes the newest held."""
    earlier = next((event for event in state.held_events if event.kind == kind), None)
    if earlier is None:
        state.held_events.append(HeldEvent(kind=kind, time=time, first_time=time, coalesced=1, detail=detail))
        return
    state.held_events.remove(earlier)
    state.held_events.append(HeldEvent(kind=kind, time=time, first_time=earlier.first_time,
                                       coalesced=earlier.coalesced + 1, detail=_merged(kind, earlier.detail, detail)))


def _merged(kind: str, earlier: dict, newer: dict) -> dict:
    """The detail of two events of ``kind`` merged: the newer one's, except that a change keeps its start.

    ``low_alarm_set`` goes from the first ``old_ml`` to the last ``new_ml``. A ``clock_set``'s ``new - old``
    stays the sum of the moves merged (the programmer moves older events' times by it onto today's clock,
    programmer/baseline.py): ``old`` is the earlier ``old`` plus the time the pump ran between the two settings,
    what the clock would have read at the newer setting had the earlier one not happened."""
    if kind == "low_alarm_set":
        return {**newer, "old_ml": earlier["old_ml"]}
    if kind == "clock_set":
        ran = datetime.fromisoformat(newer["old"]) - datetime.fromisoformat(earlier["new"])
        return {**newer, "old": wire_time(datetime.fromisoformat(earlier["old"]) + ran)}
    return dict(newer)

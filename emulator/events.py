"""The pump's event log: bounded, oldest overwritten first, read in pages by READ_EVENTS.

Events are numbered from 0 when the pump is made and an index always names the same event; ``total``
is the number ever recorded (the next index). The pump keeps the last ``event_log_size`` and a page
holds the retained events with ``start <= index < start + count`` (docs/protocol.md section 11).
"""

from __future__ import annotations

from datetime import datetime

from emulator.clock import wire_time
from emulator.state import EventRecord, PumpState

EVENT_KINDS = frozenset({
    "power_on", "program_staged", "program_activated", "bolus_started", "bolus_done", "bolus_cancelled",
    "refill", "alarm_raised", "alarm_cleared", "alarm_acknowledged", "clock_set", "low_alarm_set",
    # protocol version 2: sessions, pairing, frames that did not open (never a key or a pairing code)
    "session_started", "session_ended", "frame_rejected", "pairing_window_opened", "pairing_window_closed",
    "programmer_paired", "pairing_failed", "programmer_unpaired",
})


def events_total(state: PumpState) -> int:
    return state.events[-1].index + 1 if state.events else 0


def log_event(state: PumpState, time: datetime, kind: str, **detail: object) -> None:
    """Append an event at pump time ``time``, overwriting the oldest when the model's log is full."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    state.events.append(EventRecord(index=events_total(state), time=time, kind=kind, detail=detail))
    del state.events[: max(0, len(state.events) - state.spec.event_log_size)]


def event_page(state: PumpState, start: int, count: int) -> dict:
    """READ_EVENTS' answer: the retained events with start <= index < start + count (bounds checked by the caller)."""
    first = state.events[0].index if state.events else 0
    retained = state.events[max(0, start - first) : max(0, start + count - first)]
    return {
        "total": events_total(state),
        "events": [
            {"index": event.index, "time": wire_time(event.time), "kind": event.kind, "detail": event.detail}
            for event in retained
        ],
    }

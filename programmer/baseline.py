"""The newest part of the pump's event log: which daily dose ran 24 h ago, how a stop came about, the last
increase, all on the pump's clock.

The snapshot holds the newest part of the pump's event log (``recent_events``), back past 24 h of pump
time, and, while the pump runs nothing, back to the event that stopped it. ``dose_baseline`` derives from it
which daily dose ran 24 h ago (``program_activated`` events carry the activated and the previous program's
mean daily dose), for the 24-hour change check; ``therapy_stop`` how delivery came to stop and from which
dose, for first programs and restarts; ``last_increase`` the newest activation that raised the dose, for the
least time between increases; ``last_fill`` when the drug in the pump was put in, for its stability limit.
Event times are moved across ``clock_set`` events onto the pump's clock as it
reads now; ``reaches_back``, ``stop_position`` and ``window_tail`` tell the reader
(``interrogation.read_recent_events``) when it has read far enough.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Sequence, TypeGuard

from programmer.checks import DoseBaseline, Increase, Stop
from programmer.planner import mean_daily_dose
from programmer.port import PumpEvent
from programmer.program import Drug, Program

BASELINE_WINDOW = timedelta(hours=24)
"""Titration limits are per 24 h (5-30 % a day in the literature): the change check looks this far back, and
so does the least time between increases (``library.TITRATION_LOOKBACK_HOURS``)."""



def _local(moment: datetime) -> datetime:
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo is not None else moment


def _times_on_todays_clock(events: Sequence[PumpEvent]) -> list[datetime | None]:
    """Each event's time moved onto the pump clock as it reads now: a ``clock_set`` moved the clock by
    ``new - old``, so every event logged before it moves by as much. None: a clock_set it cannot read."""
    shift = timedelta(0)
    times: list[datetime | None] = [None] * len(events)
    for position in range(len(events) - 1, -1, -1):
        event = events[position]
        times[position] = _local(event.time) + shift
        if event.kind == "clock_set":
            try:
                shift += (_local(datetime.fromisoformat(event.detail["new"]))
                          - _local(datetime.fromisoformat(event.detail["old"])))
            except (KeyError, TypeError, ValueError):
                return times  # earlier times cannot be placed: leave them None
    return times


def reaches_back(events: Sequence[PumpEvent], pump_time: datetime, window: timedelta) -> bool:
    since = _local(pump_time) - window
    return any(time is None or time <= since for time in _times_on_todays_clock(events))


def window_tail(events: list[PumpEvent], pump_time: datetime, window: timedelta,
                keep_from: int | None = None) -> tuple[PumpEvent, ...]:
    """The events from the newest one logged at or before the window's start (or from the oldest) on, and from
    position ``keep_from`` if that is older (the event that stopped the therapy, ``stop_position``)."""
    since = _local(pump_time) - window
    times = _times_on_todays_clock(events)
    first = 0
    for position in range(len(events) - 1, -1, -1):
        time = times[position]
        if time is None or time <= since:
            first = position
            break
    if keep_from is not None:
        first = min(first, keep_from)
    return tuple(events[first:])


def boluses_within(events: Sequence[PumpEvent], pump_time: datetime, window: timedelta,
                   dose_unit: str) -> list[tuple[datetime, float, str]]:
    """The boluses the pump started within ``window`` before ``pump_time`` (its clock as it reads now), as (time,
    dose counted, kind), oldest first: every ``bolus_started`` in ``dose_unit``, counted at what it gave the patient
    on top of the program:

    - a therapeutic or demand bolus: its dose, or what it delivered when the log says it was cancelled (its
      ``bolus_cancelled`` ``delivered``);
    - a bridge: 0 (it delivers the program's own dose, at the old concentration's mL rate);
    - a prime: its logged dose (its volume at the reservoir drug's concentration). What it pushed is the drug that was
      in the line, which the log does not say; the logged dose is an upper bound of it whenever the line held the
      reservoir drug or spinal fluid (a line of a stronger old concentration is what the prime review refuses or warns
      about, ``PRIME_PUSHES_DRUG``).

    A bolus whose time cannot be placed counts: a dose is never left out of a total for want of a clock."""
    since = _local(pump_time) - window
    cancelled = {event.detail.get("bolus_id"): float(event.detail["delivered"]) for event in events
                 if event.kind == "bolus_cancelled" and _is_dose(event.detail.get("delivered"))}
    found = []
    for event, time in zip(events, _times_on_todays_clock(events)):
        detail = event.detail
        kind = detail.get("kind", "therapeutic")
        if (event.kind == "bolus_started" and detail.get("dose_unit") == dose_unit
                and _is_dose(detail.get("dose")) and (time is None or time > since)):
            dose = float(detail["dose"])
            if kind == "bridge":
                dose = 0.0
            elif kind != "prime":
                dose = min(dose, cancelled.get(detail.get("bolus_id"), dose))
            found.append((event.time if time is None else time, dose, str(kind)))
    return found


def bolus_doses_given(events: Sequence[PumpEvent], dose_unit: str, drug_name: str) -> list[tuple[datetime, float]]:
    """The therapeutic and demand boluses of the pump's drug in ``events`` (time logged, dose asked), oldest first:
    those after the newest refill that put in another drug (``drug_name`` in ``dose_unit``), for the bolus slip check
    (``BOLUS_PROBABLE_SLIP``)."""
    found: list[tuple[datetime, float]] = []
    for event in events:
        detail = event.detail
        if event.kind == "refill":
            drug = detail.get("drug")
            if isinstance(drug, dict) and (drug.get("name"), drug.get("dose_unit")) != (drug_name, dose_unit):
                found = []
        elif (event.kind == "bolus_started" and detail.get("kind", "therapeutic") in ("therapeutic", "demand")
              and detail.get("dose_unit") == dose_unit and _is_dose(detail.get("dose"))):
            found.append((event.time, float(detail["dose"])))
    return found


def stop_position(events: Sequence[PumpEvent]) -> int | None:
    """Where, in ``events`` (oldest first), the event is that explains why a pump running nothing does so: the
    newest refill, or the newest ``program_activated`` that did not go from stopped to stopped (normally the one
    that stopped a dose). None when ``events`` do not reach back to it."""
    for position in range(len(events) - 1, -1, -1):
        event = events[position]
        if event.kind == "refill":
            return position
        if event.kind == "program_activated":
            detail = event.detail
            if not (detail.get("daily_dose") == 0 and detail.get("previous_daily_dose") == 0):
                return position
    return None


def fill_position(events: Sequence[PumpEvent]) -> int | None:
    """Where, in ``events`` (oldest first), the newest ``refill`` is; None when they hold none."""
    return next((position for position in range(len(events) - 1, -1, -1) if events[position].kind == "refill"), None)


def last_fill(events: Sequence[PumpEvent]) -> datetime | None:
    """When the drug in the pump was put in, on the pump's clock as it reads now: the newest ``refill``'s time.
    Without one in ``events``, the fill is older than all of them: the oldest event's time, a bound that makes a
    stability limit counted from it end early, never late. None without events, or a time that cannot be placed.
    """
    if not events:
        return None
    position = fill_position(events)
    return _times_on_todays_clock(events)[0 if position is None else position]


def emptied_at(events: Sequence[PumpEvent]) -> datetime | None:
    """When the reservoir last ran empty, on the pump clock as it reads now: the newest ``alarm_raised`` of
    ``reservoir_empty`` (a clock set since then moves it, unlike the alarm's own ``since``). None when ``events``
    hold none, or its time cannot be placed."""
    times = _times_on_todays_clock(events)
    for position in range(len(events) - 1, -1, -1):
        event = events[position]
        if event.kind == "alarm_raised" and event.detail.get("code") == "reservoir_empty":
            return times[position]
    return None


def therapy_stop(events: Sequence[PumpEvent], pump_time: datetime, current: Program | None) -> Stop | None:
    """How delivery came to stop, from the event log, when ``current`` delivers nothing (None while it delivers,
    or without a drug). Walking back from the newest event to the one ``stop_position`` finds:

    - a refill: another drug stopped the therapy (``new_drug``: its detail says ``therapy_stopped``), or the
      pump was filled while it ran nothing (``filled``): a first fill, or a drug that may be new, so nothing
      earlier compares (as in ``dose_baseline``);
    - a ``program_activated`` from a dose above 0 to none, in this drug's dose unit: ``stopped``, with that dose;
    - anything else, or no such event in ``events``, or a time that cannot be placed: ``unknown``.
    """
    if current is None or mean_daily_dose(current) > 0:
        return None
    position = stop_position(events)
    if position is None:
        return Stop("unknown")
    time = _times_on_todays_clock(events)[position]
    if time is None:
        return Stop("unknown")
    event = events[position]
    hours_ago = (_local(pump_time) - time) / timedelta(hours=1)
    if event.kind == "refill":
        return Stop("new_drug" if event.detail.get("therapy_stopped") is True else "filled", time, hours_ago)
    detail, unit = event.detail, current.drug.dose_unit
    before, after = detail.get("previous_daily_dose"), detail.get("daily_dose")
    if (_is_dose(before) and before > 0 and after == 0 and detail.get("dose_unit") == unit
            and detail.get("previous_dose_unit") in (None, unit)):
        return Stop("stopped", time, hours_ago, float(before))
    return Stop("unknown", time, hours_ago)


def last_increase(events: Sequence[PumpEvent], pump_time: datetime, current: Program | None) -> Increase | None:
    """The newest ``program_activated`` that raised the mean daily dose, in the current drug's dose unit and
    since its last fill with another drug; None when the events hold none (or their times cannot be placed)."""
    if current is None:
        return None
    times = _times_on_todays_clock(events)
    drug = current.drug
    for position in range(len(events) - 1, -1, -1):
        event, time = events[position], times[position]
        if time is None:
            return None
        if event.kind == "refill" and (event.detail.get("therapy_stopped") is True
                                       or not _same_substance(event.detail.get("drug"), drug)):
            return None  # another drug before this: its increases are not this one's
        if event.kind != "program_activated":
            continue
        detail = event.detail
        before, after = detail.get("previous_daily_dose"), detail.get("daily_dose")
        if (_is_dose(before) and _is_dose(after) and after > before and detail.get("dose_unit") == drug.dose_unit
                and detail.get("previous_dose_unit") in (None, drug.dose_unit)):
            return Increase(time, (_local(pump_time) - time) / timedelta(hours=1), float(before), float(after))
    return None


def dose_baseline(events: Sequence[PumpEvent], pump_time: datetime, current: Program | None,
                  window: timedelta = BASELINE_WINDOW) -> DoseBaseline | None:
    """The daily dose that ran ``window`` before ``pump_time`` (pump clock), from the event log's tail.

    ``events`` are the newest events, oldest first (``read_recent_events``). Walking back from the newest,
    each ``program_activated`` says which daily dose ran before it (``previous_daily_dose``), so the oldest
    activation inside the window names the dose that ran at its start. Event times are moved across
    ``clock_set`` events onto the clock as it reads now.

    - No activation inside the window: the current program ran throughout (``activations`` 0).
    - Nothing ran at the window's start (stopped, or no drug yet): the baseline is the first dose above 0
      activated inside the window, from its activation, since a titration is limited from the dose
      therapy (re)started at. The same from a refill inside the window that may have changed the drug
      (one that stopped therapy, one into a pump running nothing, or one of another drug): earlier doses
      do not compare.
    - The log does not reach back the whole window (overwritten): the dose at the oldest retained event,
      with ``whole_window`` False.
    - None when it cannot be told: no program now, an activation without its doses (older pump firmware),
      a dose in another unit, or a clock_set whose times cannot be read.
    """
    if current is None:
        return None
    since = _local(pump_time) - window
    times = _times_on_todays_clock(events)
    drug = current.drug
    chain: list[tuple[datetime, float, float]] = []  # (time, dose before, dose after), newest first
    reached, new_drug_at, oldest = False, None, _local(pump_time)
    running = mean_daily_dose(current)  # the dose running at the point the walk has reached
    for position in range(len(events) - 1, -1, -1):
        event, time = events[position], times[position]
        if time is None:
            return None
        if time <= since:
            reached = True
            break
        oldest = time
        if event.kind == "refill" and (event.detail.get("therapy_stopped") is not False or running == 0
                                       or not _same_substance(event.detail.get("drug"), drug)):
            # Another drug may have been filled here (a new drug stops a running program, and a stopped
            # pump may take any drug): nothing earlier compares.
            new_drug_at = time
            break
        if event.kind == "program_activated":
            detail = event.detail
            before, after = detail.get("previous_daily_dose"), detail.get("daily_dose")
            if not (_is_dose(before) and _is_dose(after)):
                return None
            if (detail.get("previous_dose_unit") not in (None, drug.dose_unit)
                    or detail.get("dose_unit") != drug.dose_unit):
                return None
            chain.append((time, float(before), float(after)))
            running = float(before)
    chain.reverse()
    whole = reached or new_drug_at is not None or (bool(events) and events[0].index == 0)
    start = new_drug_at or (since if whole else oldest)
    if not chain:
        return DoseBaseline(mean_daily_dose(current), drug.dose_unit, start, 0, whole)
    first = 0.0 if new_drug_at is not None else chain[0][1]
    if first > 0:
        return DoseBaseline(first, drug.dose_unit, start, len(chain), whole)
    for position, (time, _, after) in enumerate(chain):
        if after > 0:
            return DoseBaseline(after, drug.dose_unit, time, len(chain) - position - 1, whole)
    return DoseBaseline(0.0, drug.dose_unit, start, len(chain), whole)


def _is_dose(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _same_substance(filled: object, drug: Drug) -> bool:
    """A refill event's drug is the same substance (name and dose unit) as ``drug``; a concentration may differ."""
    return (isinstance(filled, dict) and filled.get("name") == drug.name
            and filled.get("dose_unit") == drug.dose_unit)

"""Interrogation: read everything a pump reports into one ``PumpSnapshot``.

The reads are few and bounded: identify, status (timed by this computer's clock on both sides, for the
drift), the active program, the demand dose (``read_demand``; None from a pump that has none), and the newest events back past 24 h of pump time, back to the last refill
(``baseline.last_fill``: the drug's stability limit counts from it) and, while the pump runs nothing, back to
the event that stopped it (``baseline.therapy_stop``: a restart after a long stop must know it was long).
Reading the events costs one READ_EVENTS exchange per 16 events read, newest first, plus one for the total;
the log holds at most ``event_log_size`` events, so the read is bounded even then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from pydantic import ValidationError

from programmer.baseline import BASELINE_WINDOW, fill_position, reaches_back, stop_position, window_tail
from programmer.clock import computer_now
from programmer.errors import LinkError, PumpRefused, field_path
from programmer.planner import mean_daily_dose
from programmer.port import DemandSettings, PumpDriver, PumpEvent
from programmer.snapshot import PumpSnapshot, pump_limits


def read_pump(driver: PumpDriver, clock: Callable[[], datetime] = computer_now) -> PumpSnapshot:
    """Identify the pump and read its status, active program, the last 24 h of its event log and its demand dose.

    Figures the pump reports that cannot be true (limits out of order, more in the reservoir than it
    holds) are treated like a garbled link: a ``LinkError``, since nothing can be decided on them.
    """
    identity = driver.identify()
    before = clock()
    status = driver.read_status()
    after = clock()
    active = driver.read_program()
    runs_nothing = active.program is not None and mean_daily_dose(active.program) == 0
    events = read_recent_events(driver, status.pump_time, to_the_stop=runs_nothing, to_the_fill=True)
    snapshot = PumpSnapshot(identity, status, active, before + (after - before) / 2, events, read_demand(driver))
    try:
        pump_limits(identity)
        snapshot.reservoir
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise LinkError(f"the pump reported figures that cannot be true ({first['msg']}); nothing was changed",
                        step="interrogate", field=field_path(tuple(first["loc"])) or None) from None
    return snapshot


def read_demand(driver: PumpDriver) -> DemandSettings | None:
    """The patient's demand dose as the pump holds it; None from a pump that has none (it answers READ_DEMAND
    ``UNKNOWN_COMMAND``: a pump older than demand doses, docs/protocol.md). Any other refusal is raised."""
    try:
        return driver.read_demand()
    except PumpRefused as exc:
        if exc.status != "UNKNOWN_COMMAND":
            raise
        return None


def read_recent_events(driver: PumpDriver, pump_time: datetime, window: timedelta = BASELINE_WINDOW,
                       to_the_stop: bool = False, to_the_fill: bool = False) -> tuple[PumpEvent, ...]:
    """The newest events, back to the last one logged at least ``window`` of pump time before
    ``pump_time`` (or the oldest retained), oldest first; with ``to_the_stop`` (the pump runs nothing) also
    back to the event that stopped it (``baseline.stop_position``), however old; with ``to_the_fill`` also back to
    the newest refill (``baseline.fill_position``), however old.

    Pages of ``driver.events_per_read`` (16 on the serial protocol) are read from the newest back until one
    reaches that far: 1 + ceil(n / 16) exchanges for the n events of the window (usually two), not the
    whole log (up to 512 events, a minute at 9600 baud) unless a stopped pump's stop, or the last refill, is that
    old. Between two refills a pump logs few events (programs, alarms, clock sets), so the refill is usually near.
    """
    total, _ = driver.read_event_page(0, 0)
    events: list[PumpEvent] = []
    end = total
    while end > 0:
        start = max(0, end - driver.events_per_read)
        _, page = driver.read_event_page(start, end - start)
        events[:0] = [event for event in page if event.index < end]
        if not page or page[0].index > start:
            break  # older events were overwritten
        if (reaches_back(events, pump_time, window) and not (to_the_stop and stop_position(events) is None)
                and not (to_the_fill and fill_position(events) is None)):
            break  # the window is covered, and the stop and the fill are in it (or not asked for)
        end = start
    fill = fill_position(events) or 0  # no refill in the log: keep it all, the fill is older than its oldest event
    keep = [position for position, asked in ((stop_position(events), to_the_stop), (fill, to_the_fill))
            if asked and position is not None]
    return window_tail(events, pump_time, window, min(keep, default=None))

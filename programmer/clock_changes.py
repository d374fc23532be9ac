"""Clock changes ahead: what a DST change (or a move to another time zone) does to a pump's program.

Why this exists: the pump keeps naive local time and knows no time zone, so when the wall clock jumps (a DST
change) the pump's clock does not. From then on every flex step starts an hour late (spring) or early (autumn) by
the wall clock, until someone sets the pump's clock. Setting it is itself a jump of the pump's clock, which the
pump does not fill in (docs/protocol.md, SET_CLOCK: it "delivers nothing for the jump", and flex steps follow the
new time): set forward, the pump skips that hour of its cycle and gives less that day; set back, it runs that hour
of its cycle twice and gives more. A clinician should know both before the date, not discover them at a refill.

A move of the patient to another zone (``Move``) is the same kind of jump, by the difference of the two zones'
offsets at that moment (it may be 30 or 45 min, or none), and after it the pump lives by the new zone's DST changes;
so a move is foreseen like a DST change and described by the same ``ClockChange``, its ``cause`` saying which.

The zone is this computer's (``local_zone``: ``$TZ``, else ``/etc/localtime``), read with ``zoneinfo``, so the
transitions are the zone database's. Pure: no I/O but reading the zone, no Qt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from programmer.program import MINUTES_PER_DAY, Flex, Program, SimpleContinuous
from programmer.snapshot import PumpSnapshot

HORIZON = timedelta(days=400)
"""The furthest ahead a clock change is looked for, whatever the refill-by date."""
DST = "dst"
"""The cause of a zone's own clock change; a move's is ``move to ZONE``."""
MOVE_TIME = time(12, 0)
"""When on its day a move happens unless told (local time before the move)."""
CODE = "CLOCK_CHANGE_AHEAD"
"""The warning's code (docs/cli.md, Check codes)."""
_DAY = timedelta(days=1)


def local_zone() -> tzinfo | None:
    """This computer's time zone with its DST rules: ``$TZ`` when it names a zone, else ``/etc/localtime``; None
    when neither can be read (no clock change is then foreseen, and the caller says so)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    try:
        with open("/etc/localtime", "rb") as file:
            return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class ClockChange:
    """One jump of the wall clock: at ``wall_before`` (local time, read on the clock before the change) it becomes
    ``wall_before + shift``. ``pump_time`` is what the pump's clock will read at that moment, and ``lag`` how far the
    wall clock is then ahead of it (negative: behind), to the minute: a pump set to the wall clock before the change
    lags by the shift, one left unset since the previous change by nothing. Setting the pump's clock right after the
    change moves it by ``lag``, so it skips (lag > 0) the stretch of its program's cycle that follows, or runs again
    (lag < 0) the one just run: from ``window_start`` on the pump's clock, ``cycle_minute`` of its cycle, giving
    ``window_dose`` in ``dose_unit``, with the flex steps that start in it."""

    instant: datetime          # UTC
    wall_before: datetime
    shift: timedelta
    zone: str
    pump_time: datetime
    lag: timedelta
    window_start: datetime | None
    cycle_minute: int | None
    window_dose: float | None
    dose_unit: str | None
    steps_in_window: tuple[str, ...]
    cause: str = DST

    @property
    def date(self) -> str:
        return self.wall_before.date().isoformat()

    def message(self) -> str:
        """The warning in words: what the pump will do after the change, and what setting its clock then does."""
        way = "forward" if self.shift > timedelta(0) else "back"
        start = f"On {self.date} at {self.wall_before:%H:%M} clocks go {way} {_length(abs(self.shift))} ({self.zone})"
        if self.cause != DST:
            start = (f"On {self.date} at {self.wall_before:%H:%M} the {self.cause} "
                     + (f"puts clocks {way} {_length(abs(self.shift))}" if self.shift else "leaves clocks as they are"))
            if abs(self.lag) < timedelta(minutes=1):
                return f"{start}: the program's steps keep their wall-clock times, and the pump clock needs no setting."
        if abs(self.lag) < timedelta(minutes=1):
            return (f"{start}: the pump clock, not set since the change before, then agrees with the wall clock "
                    "again; its steps start on time from then on, and it needs no setting.")
        late = "late" if self.lag > timedelta(0) else "early"
        after = (f"until the pump clock is set again, every step of the program starts {_length(abs(self.lag))} "
                 f"{late} by the wall clock")
        if self.window_dose is None or self.window_start is None:
            return f"{start}: {after}."
        window = f"{self.window_start:%H:%M}-{self.window_start + abs(self.lag):%H:%M}"
        skips = self.lag > timedelta(0)
        steps = ""
        if self.steps_in_window:
            one = len(self.steps_in_window) == 1
            steps = (f"; the step{'' if one else 's'} starting in it ({', '.join(self.steps_in_window)}) "
                     f"{('never starts' if one else 'never start') if skips else ('starts' if one else 'start')}"
                     f"{'' if skips else ' twice'} that day")
        return (f"{start}: {after}. Setting the pump clock right after the change "
                f"{'skips' if skips else 'runs twice'} the {window} of its program (pump clock): "
                f"{_amount(self.window_dose)} {self.dose_unit} {'less' if skips else 'more'} that day{steps}.")


def clock_changes(program: Program | None, pump_time: datetime, cycle_phase_min: float, zone: tzinfo | None,
                  now: datetime, until: datetime | None = None) -> list[ClockChange]:
    """The wall clock's jumps in ``zone`` from ``now`` (aware, or naive UTC) to ``until`` (a time on the pump's
    clock, the refill-by date, say; at most ``HORIZON`` ahead) and what each does to ``program``, read at
    ``pump_time`` with its cycle at ``cycle_phase_min``. Empty without a zone."""
    if zone is None:
        return []
    start = now.astimezone(timezone.utc) if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
    end = start + HORIZON
    if until is not None:
        end = min(end, start + (until - pump_time))
    name = getattr(zone, "key", None) or str(zone)
    return [_change(program, pump_time, cycle_phase_min, start, instant, before, after, name)
            for instant, before, after in _transitions(zone, start, end)]


@dataclass(frozen=True)
class Move:
    """The patient moving, with the pump, from this computer's zone to ``zone`` at ``instant`` (UTC)."""

    zone: ZoneInfo
    instant: datetime


def move_zone(name: str) -> ZoneInfo:
    """The zone named ``name`` (an IANA name); ValueError naming it when the zone database has no such zone."""
    if name not in available_timezones():
        raise ValueError(f"unknown time zone {name!r}: names come from the IANA time zone database on this "
                         "computer (zoneinfo), for example Europe/Berlin or Asia/Kolkata")
    return ZoneInfo(name)


def plan_move(zone: ZoneInfo, on: date, home: tzinfo, now: datetime, at: time = MOVE_TIME) -> Move:
    """A move to ``zone`` on ``on`` at ``at`` (local time in ``home``), checked against ``now`` (local time in
    ``home``, naive): ValueError naming the limit for a day in the past or beyond ``HORIZON``."""
    today, last = now.date(), (now + HORIZON).date()
    if on < today:
        raise ValueError(f"{on.isoformat()} is in the past (today is {today.isoformat()})")
    if on > last:
        raise ValueError(f"{on.isoformat()} is beyond the {HORIZON.days}-day horizon (the last day is "
                         f"{last.isoformat()})")
    return Move(zone, datetime.combine(on, at, tzinfo=home).astimezone(timezone.utc))


def move_clock_changes(program: Program | None, pump_time: datetime, cycle_phase_min: float, zone: tzinfo | None,
                       now: datetime, move: Move, until: datetime | None = None) -> list[ClockChange]:
    """``clock_changes`` with a move: ``zone``'s changes before it, the move itself (always, even when it falls
    after ``until``), then the new zone's changes until ``until`` (at most ``HORIZON`` ahead)."""
    if zone is None:
        return []
    start = now.astimezone(timezone.utc) if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
    at_move = pump_time + (move.instant - start)
    before = [change for change in clock_changes(program, pump_time, cycle_phase_min, zone, now, until)
              if change.instant < move.instant]
    moved = _change(program, pump_time, cycle_phase_min, start, move.instant, _offset(zone, move.instant),
                    _offset(move.zone, move.instant), move.zone.key, f"move to {move.zone.key}")
    after = clock_changes(program, at_move, cycle_phase_min + (at_move - pump_time).total_seconds() / 60,
                          move.zone, move.instant, until)
    return [*before, moved, *(change for change in after if change.instant < start + HORIZON)]


def _change(program: Program | None, pump_time: datetime, cycle_phase_min: float, start: datetime,
            instant: datetime, before: timedelta, after: timedelta, name: str, cause: str = DST) -> ClockChange:
    """The jump at ``instant`` from offset ``before`` to ``after`` of a pump reading ``pump_time`` at ``start``."""
    at_pump = (pump_time + (instant - start)).replace(second=0, microsecond=0)
    lag = timedelta(minutes=round(((instant + after).replace(tzinfo=None) - at_pump).total_seconds() / 60))
    minute = dose = window = None
    steps: tuple[str, ...] = ()
    if program is not None and _runs(program) and lag:
        window = at_pump + min(lag, timedelta(0))  # set back, the pump runs again the stretch it has just run
        minute = round(cycle_phase_min + (window - pump_time).total_seconds() / 60) % _cycle_minutes(program)
        dose, steps = _dose_between(program, minute, abs(lag)), _steps_within(program, minute, abs(lag))
    return ClockChange(
        instant=instant, wall_before=(instant + before).replace(tzinfo=None), shift=after - before, zone=name,
        pump_time=at_pump, lag=lag, window_start=window, cycle_minute=minute, window_dose=dose,
        dose_unit=None if program is None else program.drug.dose_unit, steps_in_window=steps, cause=cause)


def _transitions(zone: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta, timedelta]]:
    """(UTC instant, offset before, offset after) of each change of ``zone``'s UTC offset in ``[start, end)``:
    a day at a time, then to the second by halving."""
    found = []
    day = start
    offset = _offset(zone, day)
    while day < end:
        following = min(day + _DAY, end)
        next_offset = _offset(zone, following)
        if next_offset != offset:
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == offset:
                    low = middle
                else:
                    high = middle
            found.append((high.replace(microsecond=0), offset, next_offset))
        day, offset = following, next_offset
    return found


def _offset(zone: tzinfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None, "an aware time has an offset"
    return offset


def _runs(program: Program) -> bool:
    return isinstance(program.therapy, (Flex, SimpleContinuous))


def _cycle_minutes(program: Program) -> int:
    therapy = program.therapy
    return therapy.cycle_days * MINUTES_PER_DAY if isinstance(therapy, Flex) else MINUTES_PER_DAY


def _dose_per_hour(program: Program, minute: int) -> float:
    """The program's rate at ``minute`` of its cycle, in dose units an hour."""
    therapy = program.therapy
    if isinstance(therapy, SimpleContinuous):
        return therapy.daily_dose / 24
    assert isinstance(therapy, Flex), "only running programs are asked"
    return [step for step in therapy.steps if step.offset_minutes <= minute][-1].dose_per_hour


def _dose_between(program: Program, minute: int, length: timedelta) -> float:
    """The dose the program gives over ``length`` of its cycle from ``minute``: the minutes at each rate counted
    first, so 30 min at 5 mcg/h is 2.5 mcg exactly."""
    cycle = _cycle_minutes(program)
    minutes_at: dict[float, int] = {}
    for step in range(round(length.total_seconds() / 60)):
        rate = _dose_per_hour(program, (minute + step) % cycle)
        minutes_at[rate] = minutes_at.get(rate, 0) + 1
    return sum(rate * minutes / 60 for rate, minutes in minutes_at.items())


def _steps_within(program: Program, minute: int, length: timedelta) -> tuple[str, ...]:
    therapy = program.therapy
    if not isinstance(therapy, Flex):
        return ()
    cycle, span = _cycle_minutes(program), round(length.total_seconds() / 60)
    return tuple(f"day {step.day} {step.start}" for step in therapy.steps
                 if (step.offset_minutes - minute) % cycle < span)


def _length(length: timedelta) -> str:
    minutes = round(length.total_seconds() / 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _amount(dose: float) -> str:
    return f"{dose:.3g}" if dose < 100 else f"{dose:.0f}"


def snapshot_clock_changes(snapshot: PumpSnapshot, until: datetime | None,
                           zone: tzinfo | None = None, move: Move | None = None) -> list[ClockChange]:
    """The clock changes ahead of a pump as read (``snapshot``), in ``zone`` (default: this computer's), until
    ``until`` on the pump's clock (the refill-by date; None: ``HORIZON``), with ``move`` if the patient moves."""
    zone = zone if zone is not None else local_zone()
    if zone is None:
        return []
    status = snapshot.status
    now = snapshot.computer_time.replace(tzinfo=zone)
    if move is not None:
        return move_clock_changes(snapshot.active.program, status.pump_time, status.cycle_phase_min, zone, now,
                                  move, until)
    return clock_changes(snapshot.active.program, status.pump_time, status.cycle_phase_min, zone, now, until)


def clock_change_json(change: ClockChange) -> dict:
    """One clock change as ``interrogate --json`` gives it (docs/cli.md, interrogate)."""
    return {"code": CODE, "at": change.wall_before.isoformat(timespec="minutes"), "time_zone": change.zone,
            "shift_min": round(change.shift.total_seconds() / 60), "lag_min": round(change.lag.total_seconds() / 60),
            "window_dose": change.window_dose, "dose_unit": change.dose_unit, "cause": change.cause,
            "message": change.message()}

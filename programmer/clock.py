"""Time as the programmer reads and writes it: this computer's clock, and times as ISO 8601 text.

The pump keeps naive local time, so this computer's clock is read the same way, and every time the
programmer writes out (reports, JSON, the audit log) goes through ``iso``, rounded the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

MINUTES_PER_DAY = 24 * 60
"""The program document's day in minutes (``programmer.program`` names it too: the emulator's import contract keeps
that module from importing this one), here for what formats times without loading the program's models."""


def computer_now() -> datetime:
    """This computer's local wall-clock time without an offset, the form the pump keeps its clock in."""
    return datetime.now()


def pump_clock_reading(moment: datetime) -> datetime:
    """What a pump's clock reads once set to ``moment``: local wall time without an offset, to the second
    (docs/protocol.md, SET_CLOCK). A time with a zone is first converted to this computer's local time."""
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment.replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    """A time as ISO 8601, rounded to the nearest second (None stays None: "never").

    Rounded, not truncated: an alarm due at 06:14:59.9 is shown as 06:15:00.
    """
    if moment is None:
        return None
    return (moment + timedelta(microseconds=500_000)).isoformat(timespec="seconds")


def duration(seconds: float) -> str:
    """'30 days 2 h', '3 h 5 min', '7 min 30 s': a stretch of time in words, two units at most."""
    rounded = round(seconds)
    days, rest = divmod(rounded, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "days" if days != 1 else "day"), (hours, "h"), (minutes, "min"), (secs, "s")]
    first = next((i for i, (value, _) in enumerate(parts) if value), len(parts) - 1)
    return " ".join(f"{value} {unit}" for value, unit in parts[first:first + 2] if value) or "0 s"

"""How numbers, units, dates and durations read on screen and in files. Pure functions, no Qt.

One place for it so every screen says "150\u00a0mcg/day" and "Thu 12 Mar 2026 14:05 (pump clock)" the same
way: a clinician comparing two screens must never wonder whether a figure was rounded differently, or
which clock a date is on.

The date formats, chosen once:

- **On screen** (``moment``, ``dated``): ``Thu 12 Mar 2026 14:05``, the weekday to catch a wrong day at a
  glance, the month in letters so 03/12 and 12/03 cannot be confused, the year always; seconds only where
  they matter (event times, two events a second apart). The clock is named after the date, ``(pump clock)``
  or ``(this computer's clock)``, or once in a column's header when every cell of the column is on it.
- **In files** (``file_time``): ISO 8601 to the second without an offset, ``2026-03-12T14:05:00``, the
  form the pump itself uses (its clock is a naive local one), with the clock named in the column header.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Callable

from programmer.clock import MINUTES_PER_DAY, iso

NOT_APPLICABLE = "\u2014"
"""An em dash: shown where a figure cannot be computed yet (the reason is shown beside it)."""
UNIT_SPACE = "\u00a0"
"""Between a figure and its unit: a no-break space, so "6.25 mcg/h" never wraps into "6.25" and "mcg/h"."""
WORD_JOINER = "\u2060"
"""Invisible, and no line may end at it: put after the slash of a unit so that "mL/day" never wraps into
"mL/" and "day" (a line may otherwise end after a slash). Added only where text is shown (``units_whole``)."""
_UNIT_SLASH = re.compile(r"(?<=[A-Za-z\u00b5])/(?=[A-Za-z])")
ELLIPSIS = "\u2026"
"""Ends a text cut to fit its place (``cut_at_word``): a cut is never taken for the whole."""
_CUT_AT = re.compile(r" +")
"""Where a text may be cut: its ordinary spaces. Not a no-break space (``UNIT_SPACE``): "14 mL" goes whole."""
_DANGLING = ",;:"
"""Punctuation a cut would leave hanging ("withdrawn 0 mL,…"): dropped before the ellipsis."""
PUMP_CLOCK = "pump clock"
COMPUTER_CLOCK = "this computer's clock"
"""The two clocks a date can be on. The pump's runs the therapy (flex steps, alarms, the reservoir
dates), so every date about the pump is on it; this computer's appears only where the two are compared."""
DATE_FORMAT = "%a %d %b %Y %H:%M"
DATE_FORMAT_SECONDS = DATE_FORMAT + ":%S"


def number(value: float, digits: int = 4) -> str:
    """A figure with ``digits`` significant digits and no float noise or exponent: 150, 6.25, 0.3."""
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{value:.{max(digits - 1, 0)}f}".rstrip("0").rstrip(".")
    return text


def quantity(value: float | None, unit: str, digits: int = 4) -> str:
    """A figure with its unit (joined by ``UNIT_SPACE``), or the em dash when there is none."""
    return NOT_APPLICABLE if value is None else f"{number(value, digits)}{UNIT_SPACE}{unit}"


def units_whole(text: str) -> str:
    """``text`` as a wrapping screen shows it: each unit's slash ("mcg/day", "mL/h") followed by
    ``WORD_JOINER``, so that a unit is never split at the end of a line."""
    return _UNIT_SLASH.sub("/" + WORD_JOINER, text)


def cut_at_word(text: str, fits: Callable[[str], bool]) -> str:
    """``text`` whole when it ``fits``; else its longest run of whole words that fits with ``ELLIPSIS`` after
    it (dangling punctuation dropped); else the ellipsis alone. Cut only at ordinary spaces: never inside a
    word, an id or a unit ("mL/day"), nor between a figure and its unit."""
    if fits(text):
        return text
    heads = [head + ELLIPSIS for head in (text[:space.start()].rstrip(_DANGLING) for space in _CUT_AT.finditer(text))
             if head]
    fitting, too_long = 0, len(heads)  # heads[:fitting] fit, heads[too_long:] do not; each is longer than the last
    while fitting < too_long:
        middle = (fitting + too_long) // 2
        if fits(heads[middle]):
            fitting = middle + 1
        else:
            too_long = middle
    return heads[fitting - 1] if fitting else ELLIPSIS


def moment(value: datetime | None, never: str = "never at this program", seconds: bool = False) -> str:
    """A date and time as a clinician reads it, 'Thu 12 Mar 2026 14:05', without its clock: for a cell whose
    column names the clock, or a sentence that names it. ``never`` when there is no date."""
    if value is None:
        return never
    if seconds:  # rounded to the second as in files (``file_time``), so a screen and a file agree
        return (value + timedelta(microseconds=500_000)).strftime(DATE_FORMAT_SECONDS)
    return value.strftime(DATE_FORMAT)


def dated(value: datetime | None, clock: str, never: str = "never at this program", seconds: bool = False) -> str:
    """A date with its clock named: 'Thu 12 Mar 2026 14:05 (pump clock)'; ``never`` (no clock) when none."""
    return never if value is None else f"{moment(value, seconds=seconds)} ({clock})"


def file_time(value: datetime | None) -> str:
    """A date as files carry it: ISO 8601 to the nearest second, '2026-03-12T14:05:00'; empty when none.
    Which clock it is on is said by the column's header."""
    return iso(value) or ""


def days(minutes: float | None) -> str:
    """A span in days to one decimal ('in 23.4 days'), or 'never'. Here and in every span below, a number
    and its unit are joined by ``UNIT_SPACE``: a line never ends between them."""
    if minutes is None:
        return "never"
    if minutes <= 0:
        return "now"
    return f"in {minutes / MINUTES_PER_DAY:.1f}{UNIT_SPACE}days"


def moment_and_days(at: datetime | None, minutes: float | None, clock: str | None = None) -> str:
    """'Thu 12 Mar 2026 14:05 (in 23.4 days) (pump clock)' (the clock when given), or 'never at this program'."""
    if at is None:
        return moment(at)
    text = f"{moment(at)} ({days(minutes)})"
    return text if clock is None else f"{text} ({clock})"


def percent_change(old: float, new: float) -> float | None:
    """Percent change from ``old`` to ``new``; None when ``old`` is zero (no meaningful percentage)."""
    return None if old == 0 else (new / old - 1) * 100


def span(seconds: float) -> str:
    """A length of time to the second in words: '1 h 2 min 5 s', '0 s'."""
    rounded = round(abs(seconds))
    hours, rest = divmod(rounded, 3600)
    minutes, secs = divmod(rest, 60)
    return _amounts([(hours, "h"), (minutes, "min"), (secs, "s")])


def clock_difference(seconds: float) -> str:
    """How far apart two clocks are, in the two largest units that say it: '29 h 3 min', '3 days 4 h',
    '4 min 10 s', '12 s'. Hours up to two days, because a clock a day and a few hours out is read as
    hours ("29 h behind"); the smaller unit is rounded, never just dropped."""
    rounded = round(abs(seconds))
    if rounded < 3600:
        return _amounts([*zip(divmod(rounded, 60), ("min", "s"))])
    if rounded < 2 * 86400:
        return _amounts([*zip(divmod(round(rounded / 60), 60), ("h", "min"))])
    return _amounts([*zip(divmod(round(rounded / 3600), 24), ("days", "h"))])  # two days or more here


def _amounts(amounts: list[tuple[int, str]]) -> str:
    """The amounts that are not zero, each joined to its unit by ``UNIT_SPACE`` ('29 h 3 min'); the last one
    when all are zero ('0 s')."""
    shown = [(n, unit) for n, unit in amounts if n] or amounts[-1:]
    return " ".join(f"{n}{UNIT_SPACE}{unit}" for n, unit in shown)


def drift(seconds: float) -> str:
    """Clock drift in words: 'pump is 2 min 5 s ahead of this computer' (``seconds``: pump minus computer)."""
    if round(abs(seconds)) == 0:
        return "pump and this computer agree (within 1 s)"
    side = "ahead of" if seconds > 0 else "behind"
    return f"pump is {clock_difference(seconds)} {side} this computer"


def count(n: int, noun: str) -> str:
    """'1 day', '7 days': a count with its noun, so no screen says 'day(s)'."""
    return f"{n}{UNIT_SPACE}{noun}" if n == 1 else f"{n}{UNIT_SPACE}{noun}s"


def cycle_offset(offset_min: float) -> str:
    """A cycle offset as 'day 1 06:00'."""
    day, minute = divmod(int(round(offset_min)), MINUTES_PER_DAY)
    return f"day {day + 1} {minute // 60:02d}:{minute % 60:02d}"


SEVERITY_WORDS = {"critical": "CRITICAL", "non_critical": "Non-critical"}
ALARM_NAMES = {
    "low_reservoir": "Low reservoir",
    "reservoir_empty": "Reservoir empty",
    "eri": "Battery at replacement indicator (ERI)",
    "eos": "Battery at end of service (EOS)",
    "motor_stall": "Motor stall",
}
ALARM_CONSEQUENCES = {
    "low_reservoir": "refill soon",
    "reservoir_empty": "no drug is being delivered",
    "eri": "the pump stops within 90 days",
    "eos": "the pump has stopped",
    "motor_stall": "delivery has stopped",
}
"""An alarm's name says what it is (enough for 'cleared'); its consequence says what to do while it is on."""
BATTERY_WORDS = {
    "ok": "OK",
    "eri": "Replacement indicator (ERI): plan pump replacement; it stops within 90 days",
    "eos": "End of service (EOS): the pump has stopped delivering",
}


def alarm_name(code: str) -> str:
    return ALARM_NAMES.get(code, code.replace("_", " "))


def alarm_text(code: str) -> str:
    """An active alarm in words: its name and what it means for the patient."""
    consequence = ALARM_CONSEQUENCES.get(code)
    return alarm_name(code) if consequence is None else f"{alarm_name(code)}: {consequence}"

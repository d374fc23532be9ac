"""How numbers, units, dates and durations read on screen. Pure functions, no Qt.

One place for it so every screen says "150 mcg/day" and "12 Mar 2026 14:05 (pump clock)" the same way:
a clinician comparing two screens must never wonder whether a figure was rounded differently.
"""

from __future__ import annotations

from datetime import datetime

from programmer.program import MINUTES_PER_DAY

NOT_APPLICABLE = "\u2014"
"""An em dash: shown where a figure cannot be computed yet (the reason is shown beside it)."""


def number(value: float, digits: int = 4) -> str:
    """A figure with ``digits`` significant digits and no float noise or exponent: 150, 6.25, 0.3."""
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{value:.{max(digits - 1, 0)}f}".rstrip("0").rstrip(".")
    return text


def quantity(value: float | None, unit: str, digits: int = 4) -> str:
    """A figure with its unit, or the em dash when there is none."""
    return NOT_APPLICABLE if value is None else f"{number(value, digits)} {unit}"


def moment(value: datetime | None, never: str = "never at this program") -> str:
    """A date and time as a clinician reads it, e.g. 'Thu 12 Mar 2026 14:05'."""
    return never if value is None else value.strftime("%a %d %b %Y %H:%M")


def days(minutes: float | None) -> str:
    """A span in days to one decimal ('in 23.4 days'), or 'never'."""
    if minutes is None:
        return "never"
    if minutes <= 0:
        return "now"
    return f"in {minutes / MINUTES_PER_DAY:.1f} days"


def moment_and_days(at: datetime | None, minutes: float | None) -> str:
    """'Thu 12 Mar 2026 14:05 (in 23.4 days)', or 'never at this program'."""
    return moment(at) if at is None else f"{moment(at)} ({days(minutes)})"


def percent_change(old: float, new: float) -> float | None:
    """Percent change from ``old`` to ``new``; None when ``old`` is zero (no meaningful percentage)."""
    return None if old == 0 else (new / old - 1) * 100


def signed_percent(value: float | None) -> str:
    return "n/a (was zero)" if value is None else f"{value:+.1f} %"


def drift(seconds: float) -> str:
    """Clock drift in words: 'pump is 2 min 5 s ahead of this computer'."""
    rounded = round(abs(seconds))
    if rounded == 0:
        return "pump and this computer agree (within 1 s)"
    hours, rest = divmod(rounded, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes) + [f"{secs} s"] * bool(secs)
    side = "ahead of" if seconds > 0 else "behind"
    return f"pump is {' '.join(parts)} {side} this computer"


def cycle_offset(offset_min: float) -> str:
    """A cycle offset as 'day 1 06:00'."""
    day, minute = divmod(int(round(offset_min)), MINUTES_PER_DAY)
    return f"day {day + 1} {minute // 60:02d}:{minute % 60:02d}"


SEVERITY_WORDS = {"critical": "CRITICAL", "non_critical": "Non-critical"}
ALARM_WORDS = {
    "low_reservoir": "Low reservoir: refill soon",
    "reservoir_empty": "Reservoir empty: no drug is being delivered",
    "eri": "Battery at replacement indicator (ERI): the pump stops within 90 days",
    "eos": "Battery at end of service (EOS): the pump has stopped",
    "motor_stall": "Motor stall: delivery has stopped",
}
BATTERY_WORDS = {
    "ok": "OK",
    "eri": "Replacement indicator (ERI): plan pump replacement; it stops within 90 days",
    "eos": "End of service (EOS): the pump has stopped delivering",
}


def alarm_text(code: str) -> str:
    return ALARM_WORDS.get(code, code.replace("_", " "))

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


def span(seconds: float) -> str:
    """A length of time to the second in words: '1 h 2 min 5 s', '0 s'."""
    rounded = round(abs(seconds))
    hours, rest = divmod(rounded, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes) + [f"{secs} s"] * bool(secs)
    return " ".join(parts) or "0 s"


def drift(seconds: float) -> str:
    """Clock drift in words: 'pump is 2 min 5 s ahead of this computer'."""
    if round(abs(seconds)) == 0:
        return "pump and this computer agree (within 1 s)"
    side = "ahead of" if seconds > 0 else "behind"
    return f"pump is {span(seconds)} {side} this computer"


def count(n: int, noun: str) -> str:
    """'1 day', '7 days': a count with its noun, so no screen says 'day(s)'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


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

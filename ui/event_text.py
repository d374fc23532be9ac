"""The pump's event log in words, with units: what the Events table shows. Pure functions, no Qt.

The pump records each event as a kind and a ``detail`` object whose keys depend on the kind
(docs/protocol.md, READ_EVENTS). Those keys are written for machines ("added_ml 14.0", a drug as a
JSON object); a clinician checking a refill at the bedside needs "added 14 mL". So every kind the pump
logs gets a sentence here. Nothing is ever hidden: a kind, or a key, this programmer does not know (a
newer pump firmware) is still shown, as "key value" in words with the unit its name implies, and an event
whose detail is not as documented falls back to that too rather than to an error. The CSV export keeps
the pump's own keys and values; this text is for people.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Callable, Sequence

from programmer.port import PumpEvent
from ui.format import SEVERITY_WORDS, alarm_name, alarm_text, number, span

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""Event times to the second: two events a second apart (staged, then activated) must read apart."""
SHORT_ID = 8
"""A bolus or refill id made by this programmer is a random 32-hex-digit token; its first 8 digits tell the
events of one bolus or refill apart in a log of hundreds. An id someone chose ("b-2025-03-01-0001") means
something in full and is shown in full. The CSV export keeps every id whole. Program checksums are not
shortened either: they are the program ids the Overview and the result banner show in full."""

BOLUS_END_REASONS = {
    "request": "cancelled on request",
    "reservoir_empty": "the reservoir ran empty",
    "battery_eos": "the battery reached end of service",
    "motor_stall": "the motor stalled",
}
UNIT_SUFFIXES = {"_ml": "mL", "_min": "min", "_s": "s"}
"""Units implied by a key's name (docs/protocol.md names every volume *_ml and every duration *_min)."""


def event_details(events: Sequence[PumpEvent]) -> list[str]:
    """The details of each event, in the order given.

    A bolus's dose unit travels only in its ``bolus_started`` event, so the ``bolus_done`` and
    ``bolus_cancelled`` of the same bolus borrow it from there while the log still holds that event.
    """
    units = {event.detail.get("bolus_id"): event.detail.get("dose_unit")
             for event in events if event.kind == "bolus_started"}
    return [detail_text(event.kind, event.detail, units.get(event.detail.get("bolus_id"))) for event in events]


def detail_text(kind: str, detail: dict, dose_unit: str | None = None) -> str:
    """One event's detail as a sentence; ``dose_unit`` is the unit of doses the detail itself does not name."""
    describe = DESCRIBERS.get(kind)
    rest = dict(detail)
    parts: list[str] = []
    if describe is not None:
        try:
            parts = [describe(rest, dose_unit)]  # takes the keys it puts into words out of ``rest``
        except (KeyError, TypeError, ValueError, AttributeError):
            rest, parts = dict(detail), []  # not the documented detail: show it key by key instead
    parts += [fact(key, value) for key, value in sorted(rest.items())]
    return "; ".join(parts)


def fact(key: str, value: object) -> str:
    """A key the programmer has no sentence for, in words: 'volume 2 mL', 'primed yes', 'cartridge 0f3c9a77'."""
    if key.endswith("_id") and isinstance(value, str):
        return f"{key[:-3].replace('_', ' ')} {short_id(value)}"
    for suffix, unit in UNIT_SUFFIXES.items():
        if key.endswith(suffix):
            return f"{key[: -len(suffix)].replace('_', ' ')} {value_text(value)} {unit}"
    return f"{key.replace('_', ' ')} {value_text(value)}"


def value_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return number(value)
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "(" + ", ".join(fact(key, item) for key, item in sorted(value.items())) + ")"
    if isinstance(value, list):
        return "(" + ", ".join(value_text(item) for item in value) + ")"
    return str(value)


def short_id(identifier: str) -> str:
    """A long random hex token cut to SHORT_ID digits, with no ellipsis: in a table that promises never
    to elide, a trailing "..." would read as text cut off. Any other id as it is."""
    return identifier[:SHORT_ID] if re.fullmatch(r"[0-9a-f]{17,}", identifier) else identifier


def ml(value: float) -> str:
    return f"{number(value)} mL"


def dose(value: float, unit: str | None) -> str:
    """A dose with its unit; without one (its bolus_started is no longer in the log) it says whose unit."""
    return f"{number(value)} {unit}" if unit else f"{number(value)} (in the drug's dose unit)"


def _number(value: object) -> float:
    """A figure from the detail; anything else (a string, a bool) is not the documented detail."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"not true or false: {value!r}")
    return value


# --- one sentence per kind the pump logs (docs/protocol.md, READ_EVENTS) ---------------------------
# Each takes the keys it uses out of the detail, so any others are still shown after the sentence.

def _power_on(d: dict, unit: str | None) -> str:
    return "first switch-on of a factory-new pump" if _flag(d.pop("factory_new")) else "switched on again; memory kept"


def _program_staged(d: dict, unit: str | None) -> str:
    return f"program {d.pop('checksum')} received, not yet running"


def _program_activated(d: dict, unit: str | None) -> str:
    previous = d.pop("previous")
    text = f"program {d.pop('checksum')} now running, replacing {previous or 'no program'}"
    if "daily_dose" in d:  # pumps that log the doses (docs/protocol.md section 11)
        new = dose(_number(d.pop("daily_dose")), d.pop("dose_unit", None))
        old = dose(_number(d.pop("previous_daily_dose", 0)), d.pop("previous_dose_unit", None))
        text += f": {new}/day, was {old}/day"
    return text


def _bolus_started(d: dict, unit: str | None) -> str:
    carried = d.pop("dose_unit")  # the one bolus event that names its unit
    return (f"bolus {short_id(d.pop('bolus_id'))}: {dose(_number(d.pop('dose')), carried)} "
            f"({ml(_number(d.pop('volume_ml')))}) over {number(_number(d.pop('duration_min')))} min")


def _bolus_done(d: dict, unit: str | None) -> str:
    return f"bolus {short_id(d.pop('bolus_id'))}: {dose(_number(d.pop('delivered')), unit)} delivered in full"


def _bolus_cancelled(d: dict, unit: str | None) -> str:
    reason = d.pop("reason")
    return (f"bolus {short_id(d.pop('bolus_id'))} stopped after {dose(_number(d.pop('delivered')), unit)}: "
            f"{BOLUS_END_REASONS.get(reason, str(reason).replace('_', ' '))}")


def _refill(d: dict, unit: str | None) -> str:
    drug = d.pop("drug")
    concentration = f"{number(_number(drug['concentration_per_ml']))} {drug['dose_unit']}/mL"
    therapy = "therapy stopped (a different drug was filled)" if _flag(d.pop("therapy_stopped")) else "therapy kept"
    return (f"added {ml(_number(d.pop('added_ml')))}, withdrawn {ml(_number(d.pop('withdrawn_ml')))} "
            f"(pump had calculated {ml(_number(d.pop('calculated_ml')))}); drug {drug['name']} {concentration}; "
            f"{therapy}; running program {d.pop('checksum')}; refill {short_id(d.pop('refill_id'))}")


def _alarm_raised(d: dict, unit: str | None) -> str:
    severity = d.pop("severity")
    return f"{alarm_text(d.pop('code'))} ({SEVERITY_WORDS.get(severity, str(severity).replace('_', ' '))})"


def _alarm_named(d: dict, unit: str | None) -> str:
    return alarm_name(d.pop("code"))


def _clock_set(d: dict, unit: str | None) -> str:
    old, new = datetime.fromisoformat(d.pop("old")), datetime.fromisoformat(d.pop("new"))
    moved = (new - old).total_seconds()
    direction = "forward" if moved > 0 else "back"
    change = "unchanged" if round(moved) == 0 else f"{span(moved)} {direction}"
    return f"pump clock set from {old.strftime(TIME_FORMAT)} to {new.strftime(TIME_FORMAT)} ({change})"


DESCRIBERS: dict[str, Callable[[dict, str | None], str]] = {
    "power_on": _power_on,
    "program_staged": _program_staged,
    "program_activated": _program_activated,
    "bolus_started": _bolus_started,
    "bolus_done": _bolus_done,
    "bolus_cancelled": _bolus_cancelled,
    "refill": _refill,
    "alarm_raised": _alarm_raised,
    "alarm_cleared": _alarm_named,
    "alarm_acknowledged": _alarm_named,
    "clock_set": _clock_set,
}

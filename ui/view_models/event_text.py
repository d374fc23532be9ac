"""The pump's event log in words, with units: what the Events table shows. Pure functions, no Qt.

The pump records each event as a kind and a ``detail`` object whose keys depend on the kind
(docs/protocol.md, READ_EVENTS). Those keys are written for machines ("added_ml 14.0", a drug as a
JSON object, program checksums); a clinician checking a refill at the bedside needs "added 14 mL". So
every kind the pump logs gets a name (``kind_name``: "Program activated") and a sentence here. The
sentence says what a person needs (doses, volumes, units) and names a program by a short id at most;
everything the pump logged, every id in full, is in ``full_details`` (the table's tooltip and details
pane) and in the CSV export (``ui.view_models.export``). Nothing is ever hidden: a kind, or a key, this programmer
does not know (a newer pump firmware) is still shown, as "key value" in words with the unit its name
implies, and an event whose detail is not as documented falls back to that too rather than to an error.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Callable, Sequence

from programmer.port import PumpEvent
from ui.view_models.format import (PUMP_CLOCK, SEVERITY_WORDS, UNIT_SPACE, alarm_name, alarm_text, dated, moment, number,
                                   quantity, span)

SHORT_ID = 8
"""A program checksum (16 hex digits) or a bolus or refill id made by this programmer (a random 32-hex-digit
token) is cut to its first 8 digits in a sentence: enough to tell the programs, boluses and refills of one
log apart and to match the start of the program id the Overview shows in full, without a row of hex
drowning the doses. An id someone chose ("b-2025-03-01-0001") means something in full and is shown in
full. ``full_details`` and the CSV export keep every id whole."""

KIND_NAMES = {
    "power_on": "Switched on",
    "program_staged": "Program received",
    "program_activated": "Program activated",
    "bolus_started": "Bolus started",
    "bolus_done": "Bolus completed",
    "bolus_cancelled": "Bolus stopped",
    "refill": "Refill",
    "alarm_raised": "Alarm raised",
    "alarm_cleared": "Alarm cleared",
    "alarm_acknowledged": "Alarm acknowledged",
    "clock_set": "Clock set",
    "low_alarm_set": "Low-reservoir alarm set",
    "session_started": "Programmer session started",
    "session_ended": "Programmer session ended",
    "frame_rejected": "Frame rejected",
    "pairing_window_opened": "Pairing window opened",
    "pairing_window_closed": "Pairing window closed",
    "programmer_paired": "Programmer paired",
    "pairing_failed": "Pairing failed",
    "programmer_unpaired": "Programmer unpaired",
    "line_flushed": "Line flushed",
    "demand_set": "Demand dose set",
    "demand_granted": "Demand dose given",
    "demand_refused": "Demand dose refused",
}
BOLUS_KIND_WORDS = {
    "therapeutic": "bolus",
    "prime": "priming bolus",
    "bridge": "bridge bolus",
    "demand": "demand dose",
}
"""How each kind of bolus is named in a sentence (docs/protocol.md, BOLUS ``kind``); an event without a kind is a
therapeutic bolus, as the pump logged them before kinds existed."""
PRIME_REASONS = {
    "implant": "after an implant",
    "pump_replacement": "after a pump replacement",
    "catheter_revision": "after a catheter revision",
}
DEMAND_REFUSED_REASONS = {
    "off": "the demand dose is off",
    "lockout": "within the lockout interval",
    "daily_max": "the most a day were given already",
    "bolus_running": "another bolus was running",
    "cannot_deliver": "the pump cannot deliver now",
    "reservoir": "too little drug in the reservoir",
}
DEMAND_SET_REASONS = {"drug_changed": "switched off because the drug changed"}
BOLUS_END_REASONS = {
    "request": "cancelled on request",
    "reservoir_empty": "the reservoir ran empty",
    "battery_eos": "the battery reached end of service",
    "motor_stall": "the motor stalled",
}
UNIT_SUFFIXES = {"_ml": "mL", "_min": "min", "_s": "s"}
"""Units implied by a key's name (docs/protocol.md names every volume *_ml and every duration *_min)."""
SESSION_END_REASONS = {
    "closed": "the programmer's connection closed",
    "ended": "ended by the programmer",
    "idle": "nothing received for the idle timeout",
    "replaced": "replaced by a new session",
    "unpaired": "the programmer was unpaired",
    "restart": "the pump restarted",
}
FRAME_REJECTED_REASONS = {
    "truncated": "cut short",
    "replayed": "a replay of an earlier frame",
    "forged": "not sealed with the session's key (forged or altered)",
}
"""protocol.session_crypto.FrameRejected.REASONS in words; another reason is shown as it is."""
WINDOW_CLOSE_REASONS = {
    "timeout": "its time ran out",
    "paired": "a programmer paired",
    "attempts": "its pairing attempts were used up",
}
TIME_KEYS = frozenset({"old", "new", "first_time"})
"""Detail keys holding a pump-clock time (``clock_set``'s, and a merged event's first one)."""


def implied_unit(key: str) -> str | None:
    """The unit a detail key's name implies ('added_ml': mL), or None; a rate per unit ('concentration_per_ml')
    is not that unit."""
    if "_per_" in key:
        return None
    return next((unit for suffix, unit in UNIT_SUFFIXES.items() if key.endswith(suffix)), None)


def kind_name(kind: str) -> str:
    """The event kind as a person says it: 'Program activated'; an unknown kind from its own name."""
    return KIND_NAMES.get(kind) or kind.replace("_", " ").capitalize()


def bolus_units(events: Sequence[PumpEvent]) -> dict[object, str | None]:
    """Each bolus's dose unit by its id. The unit travels only in a bolus's ``bolus_started`` event, so the
    ``bolus_done`` and ``bolus_cancelled`` of the same bolus borrow it from there while the log still holds
    that event."""
    return {event.detail.get("bolus_id"): event.detail.get("dose_unit")
            for event in events if event.kind == "bolus_started"}


def event_detail(event: PumpEvent, units: dict[object, str | None]) -> str:
    """One event's details, its dose unit taken from ``units`` (``bolus_units`` of the log) when it names none."""
    return detail_text(event.kind, event.detail, units.get(event.detail.get("bolus_id")))


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
    try:
        parts += [_merged(rest)]  # the pump merged a run of this kind into this one event (its flood rule)
    except (KeyError, TypeError, ValueError):
        pass  # not merged, or not as documented: shown key by key below
    parts += [fact(key, value) for key, value in sorted(rest.items())]
    return "; ".join(parts)


def _merged(d: dict) -> str:
    """'merged: 12 of these since Sat 28 Nov 2026 11:29:09': a run of one kind the pump merged into one event (its
    ``coalesced`` and ``first_time``), so a flood of them never pushes a dose or a refill out of the log."""
    count, first = d["coalesced"], d["first_time"]
    if isinstance(count, bool) or not isinstance(count, int) or not isinstance(first, str):
        raise TypeError("not a merged run")
    since = _when(first)
    del d["coalesced"], d["first_time"]
    return f"merged: {count} of these since {since}"


def fact(key: str, value: object) -> str:
    """A key the programmer has no sentence for, in words: 'volume 2 mL', 'primed yes', 'cartridge 0f3c9a77'."""
    if key.endswith("_id") and isinstance(value, str):
        return f"{key[:-3].replace('_', ' ')} {short_id(value)}"
    unit = implied_unit(key)
    if unit is not None:
        return f"{key.rsplit('_', 1)[0].replace('_', ' ')} {with_unit(value, unit)}"
    return f"{key.replace('_', ' ')} {value_text(value)}"


def with_unit(value: object, unit: str) -> str:
    """A figure and its unit joined as ``ui.view_models.format.quantity`` joins them; anything else as it is, with the unit."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return quantity(value, unit)
    return f"{value_text(value)} {unit}"


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
    """A long hex token (a checksum, a random id) cut to SHORT_ID digits, with no ellipsis: the Events table
    ends a description it cuts to fit with one, and an id must never read as the place the table cut.
    Any other id as it is."""
    return identifier[:SHORT_ID] if re.fullmatch(r"[0-9a-f]{16,}", identifier) else identifier


def ml(value: float) -> str:
    return quantity(value, "mL")


def dose(value: float, unit: str | None) -> str:
    """A dose with its unit; without one (its bolus_started is no longer in the log) it says whose unit."""
    return quantity(value, unit) if unit else f"{number(value)} (in the drug's dose unit)"


def daily(value: float, unit: str | None) -> str:
    return quantity(value, f"{unit}/day") if unit else f"{number(value)} a day (in the drug's dose unit)"


def _when(text: str) -> str:
    """A pump-clock time from the detail, to the second like the table's time column."""
    return moment(datetime.fromisoformat(text), seconds=True)


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
    return f"program {short_id(d.pop('checksum'))} received, not running yet"


def _program_activated(d: dict, unit: str | None) -> str:
    checksum, previous = short_id(d.pop("checksum")), d.pop("previous")
    if "daily_dose" not in d:  # firmware that predates the doses (docs/protocol.md section 11)
        return f"program {checksum} now running, replacing {short_id(previous) if previous else 'no program'}"
    new = daily(_number(d.pop("daily_dose")), d.pop("dose_unit", None))
    old = daily(_number(d.pop("previous_daily_dose", 0)), d.pop("previous_dose_unit", None))
    return f"now {new}, was {old} (program {checksum})"


def _worded(words: dict[str, str], value: object) -> str:
    """The sentence's words for a reason or a level the pump names; one this version does not know yet is shown
    as the pump named it, with spaces for underscores, rather than hidden."""
    return words.get(str(value), str(value).replace("_", " "))


def _bolus_name(d: dict) -> str:
    """'bolus', 'priming bolus', ...: the kind the event names (a therapeutic bolus when it names none)."""
    return _worded(BOLUS_KIND_WORDS, d.pop("kind", "therapeutic"))


def _bolus_started(d: dict, unit: str | None) -> str:
    carried = d.pop("dose_unit")  # the one bolus event that names its unit
    name = _bolus_name(d)
    text = (f"{name} {short_id(d.pop('bolus_id'))}: {dose(_number(d.pop('dose')), carried)} "
            f"({ml(_number(d.pop('volume_ml')))}) over {quantity(_number(d.pop('duration_min')), 'min')}")
    if "reason" in d:  # a prime: why, and the catheter it filled
        text += f", {_worded(PRIME_REASONS, d.pop('reason'))}"
    if "catheter_cm" in d:
        text += f", catheter {quantity(_number(d.pop('catheter_cm')), 'cm')}"
    if "concentration_per_ml" in d:  # a bridge: the old drug's concentration it runs the program at
        old = _number(d.pop("concentration_per_ml"))
        text += f", at the old {quantity(old, f'{carried}/mL') if carried else number(old) + ' per mL'}"
    return text


def _pumped(d: dict) -> str:
    """', 0.1 mL pumped' when the event says how much the bolus moved (newer pumps do)."""
    return f" ({ml(_number(d.pop('volume_ml')))} pumped)" if "volume_ml" in d else ""


def _bolus_done(d: dict, unit: str | None) -> str:
    name = _bolus_name(d)
    return (f"{name} {short_id(d.pop('bolus_id'))}: {dose(_number(d.pop('delivered')), unit)} delivered in full"
            f"{_pumped(d)}")


def _bolus_cancelled(d: dict, unit: str | None) -> str:
    reason, name = d.pop("reason"), _bolus_name(d)
    return (f"{name} {short_id(d.pop('bolus_id'))} stopped after {dose(_number(d.pop('delivered')), unit)}"
            f"{_pumped(d)}: {_worded(BOLUS_END_REASONS, reason)}")


def _line_flushed(d: dict, unit: str | None) -> str:
    """The last of a content other than the reservoir's drug has left the catheter tip: the new drug now reaches
    the patient."""
    old = _number(d.pop("concentration_per_ml"))
    what = "the spinal fluid" if old == 0 else f"the old drug ({number(old)} per mL)"
    return (f"{what} has left the catheter: the reservoir's drug now reaches the patient "
            f"({ml(_number(d.pop('pumped_ml')))} pumped, {ml(_number(d.pop('to_patient_ml')))} to the patient in all)")


def _demand_settings(d: dict) -> str:
    unit = d.pop("dose_unit", None)
    return (f"{dose(_number(d.pop('dose')), unit)} over {quantity(_number(d.pop('duration_min')), 'min')} a press, "
            f"lockout {quantity(_number(d.pop('lockout_min')), 'min')}, at most "
            f"{_number(d.pop('max_per_day')):g} a day")


def _demand_set(d: dict, unit: str | None) -> str:
    enabled = _flag(d.pop("enabled"))
    reason = f" ({_worded(DEMAND_SET_REASONS, d.pop('reason'))})" if "reason" in d else ""
    if not enabled:
        for key in ("dose", "dose_unit", "duration_min", "lockout_min", "max_per_day"):
            d.pop(key, None)  # an off demand dose's figures mean nothing
        return f"demand dose off{reason}"
    return f"demand dose on: {_demand_settings(d)}{reason}"


def _demand_granted(d: dict, unit: str | None) -> str:
    carried = d.pop("dose_unit", None)
    return (f"the patient pressed the button: demand dose {short_id(d.pop('bolus_id'))} of "
            f"{dose(_number(d.pop('dose')), carried)} ({ml(_number(d.pop('volume_ml')))}) given, "
            f"{_number(d.pop('count_24h')):g} in the last 24{UNIT_SPACE}h")


def _demand_refused(d: dict, unit: str | None) -> str:
    reason = d.pop("reason")
    return (f"the patient pressed the button: nothing given, {_worded(DEMAND_REFUSED_REASONS, reason)} "
            f"({_number(d.pop('count_24h')):g} given in the last 24{UNIT_SPACE}h)")


def _refill(d: dict, unit: str | None) -> str:
    drug = d.pop("drug")
    concentration = quantity(_number(drug["concentration_per_ml"]), f"{drug['dose_unit']}/mL")
    therapy = "therapy stopped (a different drug was filled)" if _flag(d.pop("therapy_stopped")) else "therapy kept"
    for key in ("checksum", "refill_id"):  # ids for the records, not the sentence: in full_details and the CSV
        d.pop(key)
    return (f"added {ml(_number(d.pop('added_ml')))}, withdrawn {ml(_number(d.pop('withdrawn_ml')))} "
            f"(pump had calculated {ml(_number(d.pop('calculated_ml')))}); drug {drug['name']} {concentration}; "
            f"{therapy}")


def _alarm_raised(d: dict, unit: str | None) -> str:
    severity = d.pop("severity")
    return f"{alarm_text(d.pop('code'))} ({_worded(SEVERITY_WORDS, severity)})"


def _alarm_named(d: dict, unit: str | None) -> str:
    return alarm_name(d.pop("code"))


def _clock_set(d: dict, unit: str | None) -> str:
    old, new = d.pop("old"), d.pop("new")
    moved = (datetime.fromisoformat(new) - datetime.fromisoformat(old)).total_seconds()
    direction = "forward" if moved > 0 else "back"
    change = "unchanged" if round(moved) == 0 else f"{span(moved)} {direction}"
    return f"pump clock set from {_when(old)} to {_when(new)} ({change})"


def _low_alarm_set(d: dict, unit: str | None) -> str:
    return f"low-reservoir alarm threshold from {ml(_number(d.pop('old_ml')))} to {ml(_number(d.pop('new_ml')))}"


def _session_started(d: dict, unit: str | None) -> str:
    return f"{d.pop('programmer_id')} authenticated (session {_session(d)})"


def _session_ended(d: dict, unit: str | None) -> str:
    reason = d.pop("reason")
    return (f"session {_session(d)} of {d.pop('programmer_id')} ended: "
            f"{_worded(SESSION_END_REASONS, reason)}")


def _frame_rejected(d: dict, unit: str | None) -> str:
    reason = d.pop("reason")
    return (f"a sealed frame was dropped unanswered, never acted on: "
            f"{_worded(FRAME_REJECTED_REASONS, reason)} (session {_session(d)})")


def _pairing_window_opened(d: dict, unit: str | None) -> str:
    return f"open to pairing for {quantity(_number(d.pop('seconds')), 's')} (the code is never logged)"


def _pairing_window_closed(d: dict, unit: str | None) -> str:
    reason = d.pop("reason")
    return f"no more pairing: {_worded(WINDOW_CLOSE_REASONS, reason)}"


def _programmer_paired(d: dict, unit: str | None) -> str:
    return f"{d.pop('programmer_id')} paired: it may open sessions"


def _pairing_failed(d: dict, unit: str | None) -> str:
    return f"{d.pop('programmer_id')} gave a wrong pairing code: not paired"


def _programmer_unpaired(d: dict, unit: str | None) -> str:
    return f"{d.pop('programmer_id')} unpaired: its key forgotten by the pump"


def _session(d: dict) -> str:
    """A session's id from the detail, cut like any long id (``short_id``); its number as it is."""
    session = d.pop("session")
    return short_id(session) if isinstance(session, str) else value_text(session)


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
    "low_alarm_set": _low_alarm_set,
    "session_started": _session_started,
    "session_ended": _session_ended,
    "frame_rejected": _frame_rejected,
    "pairing_window_opened": _pairing_window_opened,
    "pairing_window_closed": _pairing_window_closed,
    "programmer_paired": _programmer_paired,
    "pairing_failed": _pairing_failed,
    "programmer_unpaired": _programmer_unpaired,
    "line_flushed": _line_flushed,
    "demand_set": _demand_set,
    "demand_granted": _demand_granted,
    "demand_refused": _demand_refused,
}


# --- everything, for the details pane and the tooltip ---------------------------------------------------

def flat_detail(detail: dict, prefix: str = "") -> dict[str, object]:
    """The detail with nested objects spread into dotted keys ('drug.name'), in the pump's key order:
    one value per key, the form a table column or a details line takes."""
    flat: dict[str, object] = {}
    for key, value in detail.items():
        if isinstance(value, dict) and value:
            flat.update(flat_detail(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def full_details(event: PumpEvent, sentence: str = "") -> str:
    """Everything the pump logged for ``event``, one 'key: value' line each, ids in full: what the sentence
    leaves out, for whoever needs it (a program id to compare, a refill id for the records). After the first
    line, the event's ``sentence`` when given: whole here, wherever a table had to cut it."""
    lines = [f"{kind_name(event.kind)}, event {event.index}, {dated(event.time, PUMP_CLOCK, seconds=True)}"]
    if sentence:
        lines.append(sentence)
    for key, value in sorted(flat_detail(event.detail).items()):
        lines.append(f"{key}: {_full_value(key, value)}")
    return "\n".join(lines)


def _full_value(key: str, value: object) -> str:
    leaf = key.rsplit(".", 1)[-1]
    if leaf in TIME_KEYS and isinstance(value, str):
        try:
            return dated(datetime.fromisoformat(value), PUMP_CLOCK, seconds=True)
        except ValueError:
            return value
    if isinstance(value, str):
        return value
    unit = implied_unit(leaf)
    return value_text(value) if unit is None else with_unit(value, unit)

"""The pump's answers read strictly into the port's types (programmer/port.py).

Every figure the programmer shows or acts on comes through here, so nothing the pump sends is taken on trust:
a key missing or of the wrong type, a state or kind outside the protocol's list, is a LinkError naming the key
by its path (``line.contents[1].volume_ml``), the same as a link that failed, because the answer cannot be trusted.
A key that a pump built before issue 13 does not send (the dead-volume figures of IDENTIFY, READ_STATUS ``line``,
a bolus's ``kind``) is read as absent (None, or ``therapeutic``): such a pump is read as it always was, and the
programmer offers it no prime, bridge or demand dose.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from programmer.errors import LinkError
from protocol.frame import canonical_json
from programmer.port import (BOLUS_KINDS, Alarm, BolusOutcome, BolusState, DemandDose, DemandSettings, LineContent,
                             LineState, PumpEvent)

BOLUS_STATES = ("delivering", "done", "cancelled")
DOSE_UNITS = ("mcg", "mg")


class Answer:
    """Typed access to an OK answer's payload. A missing or mistyped field is a protocol error: the
    pump's answer cannot be trusted, so it is reported as a failed exchange (LinkError) naming it."""

    def __init__(self, step: str, data: dict, path: str = "") -> None:
        self.step = step
        self.data = data
        self._path = path

    def text(self, key: str) -> str:
        return self._get(key, str, "a string")

    def number(self, key: str) -> float:
        value = self._get(key, (int, float), "a number")
        return float(value)

    def integer(self, key: str) -> int:
        return self._get(key, int, "an integer")

    def flag(self, key: str) -> bool:
        return self._get(key, bool, "true or false")

    def optional_number(self, key: str) -> float | None:
        """A number, or None when the key is absent or null (a figure an older pump does not report)."""
        return None if self.data.get(key) is None else self.number(key)

    def optional_integer(self, key: str) -> int | None:
        return None if self.data.get(key) is None else self.integer(key)

    def optional_text(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.text(key)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise self.malformed(key, f"is {value!r}, not one of {', '.join(allowed)}")
        return value

    def time(self, key: str) -> datetime:
        text = self.text(key)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = None
        if value is None or value.tzinfo is not None:
            raise self.malformed(key, f"is {text!r}, not an ISO 8601 local time without offset")
        return value

    def object(self, key: str) -> "Answer":
        return Answer(self.step, self._get(key, dict, "an object"), self._where(key))

    def optional_object(self, key: str) -> "Answer | None":
        if key in self.data and self.data[key] is None:
            return None
        return self.object(key)

    def objects(self, key: str) -> list["Answer"]:
        items = self._get(key, list, "a list")
        if not all(isinstance(item, dict) for item in items):
            raise self.malformed(key, "holds something other than objects")
        return [Answer(self.step, item, f"{self._where(key)}[{index}]") for index, item in enumerate(items)]

    def _get(self, key: str, kind: type | tuple[type, ...], description: str):
        if key not in self.data:
            raise self.malformed(key, "is missing")
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):  # JSON true is no number
            raise self.malformed(key, f"is {value!r}, not {description}")
        return value

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def malformed(self, key: str, problem: str) -> LinkError:
        """The LinkError for ``key`` of this answer: ``problem`` says what is wrong with it."""
        where = self._where(key)
        return LinkError(f"{self.step}: the pump's answer is malformed: {where} {problem}", step=self.step, field=where)


def alarms(answer: Answer) -> tuple[Alarm, ...]:
    return tuple(
        Alarm(code=item.text("code"), severity=item.choice("severity", ("critical", "non_critical")),
              since=item.time("since"))
        for item in answer.objects("alarms")
    )


def event(item: Answer) -> PumpEvent:
    return PumpEvent(index=item.integer("index"), time=item.time("time"), kind=item.text("kind"),
                     detail=item.object("detail").data)


def bolus_kind(answer: Answer) -> str:
    """A bolus's ``kind``; absent (a pump built before bolus kinds) it is a therapeutic bolus."""
    return "therapeutic" if "kind" not in answer.data else answer.choice("kind", BOLUS_KINDS)


def bolus_state(answer: Answer) -> BolusState | None:
    """READ_STATUS ``bolus``: the running bolus, or None when none runs."""
    bolus = answer.optional_object("bolus")
    if bolus is None:
        return None
    return BolusState(bolus_id=bolus.text("bolus_id"), dose=bolus.number("dose"), delivered=bolus.number("delivered"),
                      remaining_s=bolus.number("remaining_s"), kind=bolus_kind(bolus))


def line_state(answer: Answer) -> LineState | None:
    """READ_STATUS ``line``: the pump tubing and catheter, patient end first; None from a pump that does not say."""
    line = answer.optional_object("line") if "line" in answer.data else None
    if line is None:
        return None
    dose_unit = line.optional_text("dose_unit")
    if dose_unit is not None and dose_unit not in DOSE_UNITS:
        raise line.malformed("dose_unit", f"is {dose_unit!r}, not one of {', '.join(DOSE_UNITS)}")
    return LineState(
        tubing_ml=line.number("tubing_ml"),
        catheter_cm=line.optional_number("catheter_cm"),
        volume_ml=line.number("volume_ml"),
        contents=tuple(LineContent(volume_ml=part.number("volume_ml"),
                                   concentration_per_ml=part.number("concentration_per_ml"))
                       for part in line.objects("contents")),
        pumped_ml=line.number("pumped_ml"),
        to_patient_ml=line.number("to_patient_ml"),
        to_patient_dose=line.number("to_patient_dose"),
        dose_unit=dose_unit,
    )


def bolus_outcome(answer: Answer, asked_id: str, asked_kind: str | None) -> BolusOutcome:
    """A BOLUS answer (and BOLUS_STATUS's, REFILL's ``bridge``): the bolus as the pump reports it. An answer about
    another id, or another kind than ``asked_kind`` (None: any), is not an answer to this request: malformed. A pump
    that does not say the kind gave the kind asked for (a therapeutic bolus, before there were kinds)."""
    bolus_id = answer.text("bolus_id")
    if bolus_id != asked_id:
        raise answer.malformed("bolus_id", f"is {bolus_id!r}, not the {asked_id!r} asked about")
    kind = bolus_kind(answer) if asked_kind is None or "kind" in answer.data else asked_kind
    if asked_kind is not None and kind != asked_kind:
        raise answer.malformed("kind", f"is {kind!r}, not the {asked_kind!r} asked for")
    return BolusOutcome(
        bolus_id=bolus_id,
        dose=answer.number("dose"),
        volume_ml=answer.number("volume_ml"),
        state=answer.choice("state", BOLUS_STATES),
        repeated=answer.flag("repeated"),
        kind=kind,
        duration_min=answer.optional_number("duration_min"),
        action_number=answer.optional_integer("action_number"),
        delivered=answer.optional_number("delivered"),
    )


def demand_settings(answer: Answer) -> DemandSettings:
    """READ_DEMAND's answer (SET_DEMAND's too): the patient's demand dose, or ``enabled`` false alone. Its checksum is
    recomputed here over the other keys (docs/protocol.md, READ_DEMAND): settings that do not match it cannot be
    trusted, like a program whose checksum is not its own."""
    checksum = answer.text("checksum")
    own = hashlib.sha256(canonical_json({key: value for key, value in answer.data.items() if key != "checksum"}))
    if own.hexdigest()[:16] != checksum:
        raise answer.malformed("checksum", f"is {checksum!r}, but the settings' own is {own.hexdigest()[:16]!r}")
    if not answer.flag("enabled"):
        return DemandSettings(DemandDose(enabled=False), None, checksum)
    demand = DemandDose(enabled=True, dose=answer.number("dose"), duration_min=answer.number("duration_min"),
                        lockout_min=answer.number("lockout_min"), max_per_day=answer.integer("max_per_day"))
    return DemandSettings(demand, answer.choice("dose_unit", DOSE_UNITS), checksum)

"""The program document, ``itb-program/1``: what the pump is told to deliver.

The format is a public contract (docs/program-format.md): other people's tests read and write it, so the
models are strict. Unknown fields, wrong types (a string where a number belongs, a float where a day
number belongs), non-positive doses or concentrations and badly ordered flex steps are all errors that
name the field; nothing is coerced or guessed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Final, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from programmer import strict_json
from programmer.errors import InputError, from_validation_error

FORMAT: Final = "itb-program/1"
MINUTES_PER_DAY = 24 * 60
MAX_CYCLE_DAYS = 31
"""The document allows cycles up to a month; each pump model declares the longest cycle it runs."""

DoseUnit = Literal["mcg", "mg"]
START_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class StrictModel(BaseModel):
    """Base for every document model: no extra keys, no type coercion, no NaN, immutable.

    Validators are built on first use (``defer_build``), not at import: the application's window then
    shows before any program has to be read.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False, defer_build=True)


class Drug(StrictModel):
    """The drug in the reservoir. Concentration is in dose units per mL (mcg/mL or mg/mL)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    dose_unit: DoseUnit
    concentration_per_ml: Annotated[float, Field(gt=0)]

    @field_validator("name")
    @classmethod
    def _name_is_trimmed(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("drug name must not start or end with spaces")
        return value


class Stopped(StrictModel):
    """No delivery at all (e.g. before a first fill or for explant)."""

    mode: Literal["stopped"]


class SimpleContinuous(StrictModel):
    """The same rate all day: ``daily_dose`` dose units per day."""

    mode: Literal["simple_continuous"]
    daily_dose: Annotated[float, Field(gt=0)]


@lru_cache(maxsize=MINUTES_PER_DAY)
def minute_of_day(start: str) -> int:
    """Minutes after midnight of an ``HH:MM`` start. Cached: a planner reads every step's start each time it
    projects a program, and there are only 1440 of them."""
    hours, minutes = start.split(":")
    return int(hours) * 60 + int(minutes)


class FlexStep(StrictModel):
    """One step of a flex schedule: from ``start`` on ``day`` until the next step, at ``dose_per_hour``."""

    day: Annotated[int, Field(ge=1)] = 1
    start: Annotated[str, Field(json_schema_extra={"pattern": START_PATTERN})]
    dose_per_hour: Annotated[float, Field(gt=0)]

    @field_validator("start")
    @classmethod
    def _whole_minute(cls, value: str) -> str:
        if not re.fullmatch(START_PATTERN, value):
            raise ValueError("start must be a time of day on a whole minute, written HH:MM (00:00 to 23:59)")
        return value

    @property
    def offset_minutes(self) -> int:
        """Minutes from the start of the cycle (day 1 00:00) to this step's start."""
        return (self.day - 1) * MINUTES_PER_DAY + minute_of_day(self.start)


class Flex(StrictModel):
    """A schedule of steps over a cycle of ``cycle_days`` days that repeats."""

    mode: Literal["flex"]
    cycle_days: Annotated[int, Field(ge=1, le=MAX_CYCLE_DAYS)] = 1
    steps: Annotated[list[FlexStep], Field(min_length=1)]

    @model_validator(mode="after")
    def _steps_in_order(self) -> "Flex":
        for index, step in enumerate(self.steps):
            if step.day > self.cycle_days:
                raise ValueError(
                    f"steps[{index}].day is {step.day} but the cycle has only {self.cycle_days} day(s)"
                )
        if self.steps[0].offset_minutes != 0:
            raise ValueError("steps[0] must start on day 1 at 00:00 so the whole cycle is covered")
        for index in range(1, len(self.steps)):
            before, after = self.steps[index - 1], self.steps[index]
            if after.offset_minutes <= before.offset_minutes:
                raise ValueError(
                    f"steps[{index}] (day {after.day} {after.start}) must start after "
                    f"steps[{index - 1}] (day {before.day} {before.start}); starts must strictly increase"
                )
        return self


Therapy = Annotated[Union[Stopped, SimpleContinuous, Flex], Field(discriminator="mode")]


class Program(StrictModel):
    """A whole program document: which drug, and how it is delivered."""

    format: Literal["itb-program/1"]
    drug: Drug
    therapy: Therapy

    def to_json(self) -> str:
        """The document as indented JSON, the form saved to files."""
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"

    def checksum(self) -> str:
        """The program's identity on the wire (docs/protocol.md): 16 hex digits of SHA-256 over canonical JSON.

        Canonical means validated first, so 150 and 150.0 (or a missing flex ``day``) give the same checksum.
        """
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


NO_PROGRAM_CHECKSUM = "0" * 16
"""The checksum a factory-new pump (no drug, nothing to run) reports for its program."""


def parse_json_text(text: str, source: str | None = None) -> object:
    """Parse a JSON document strictly (duplicate keys are errors).

    NaN, Infinity and overflowing numbers are let through as floats on purpose: every document model
    refuses non-finite numbers, and it can name the field that held one.
    """
    try:
        return strict_json.loads(text, allow_non_finite=True)
    except json.JSONDecodeError as exc:
        raise InputError([("", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")], source)
    except (ValueError, RecursionError) as exc:
        raise InputError([("", f"not valid JSON: {exc}")], source)


def read_json_file(path: str | os.PathLike, source: str | None = None) -> object:
    """Read and strictly parse a JSON file; unreadable or non-UTF-8 files are InputErrors."""
    source = source or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError([("", f"cannot read file: {exc.strerror or exc}")], source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([("", "file is not UTF-8 text")], source)
    return parse_json_text(text, source)


def program_from_data(data: object, source: str | None = None) -> Program:
    """Validate already-parsed JSON data as a program document."""
    if not isinstance(data, dict):
        raise InputError([("", "a program document must be a JSON object")], source)
    try:
        return Program.model_validate(data, strict=True)
    except ValidationError as exc:
        raise from_validation_error(exc, source)


def load_program(path: str | os.PathLike) -> Program:
    """Load and validate a program document from a file."""
    return program_from_data(read_json_file(path), str(path))


def save_program(program: Program, path: str | os.PathLike) -> None:
    """Write a program document atomically: a crash leaves the old file or the new one, never half."""
    write_text_atomically(Path(path), program.to_json())


def write_text_atomically(path: Path, text: str, newline: str | None = None) -> None:
    """Write text to a temp file beside ``path``, fsync it, then rename it over ``path``. ``newline`` as for
    ``open``: ``""`` writes the line ends exactly as given (a format that prescribes CRLF)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


"""The drug library: per-drug rules for dose-error reduction, versioned, approved and identified by a hash.

A library ships with the package (``data/drug_library.json``) and a site may name its own file instead.
Either is used only when its signature beside it approves it (``library_signing``: a key of the trust store
signed its exact bytes), then validated; an unsigned, changed or badly signed library is an error, never used,
and a bad one is never half-used. Every check report carries the library's identity (name, version, SHA-256
of its canonical content, approval date, signer and key) so a review shows which rules applied and who
approved them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from programmer.errors import InputError, from_validation_error
from programmer.library_signing import SIGNATURE_SUFFIX, Approval, read_approved, signature_path
from programmer.program import DoseUnit, parse_json_text


class _Strict(BaseModel):
    """Base of the library's models: strict and immutable. Validators are built on first use (``defer_build``):
    a library is validated as one document, so only ``DrugLibrary``'s and ``LibraryIdentity``'s are ever
    built, not one for each of the models nested in them."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False, defer_build=True)


class DailyDoseLimits(_Strict):
    """Daily dose bands in the drug's dose unit per day: outside soft warns, outside hard blocks."""

    hard_min: Annotated[float, Field(ge=0)]
    soft_min: Annotated[float, Field(ge=0)]
    soft_max: Annotated[float, Field(gt=0)]
    hard_max: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> "DailyDoseLimits":
        if not self.hard_min <= self.soft_min <= self.soft_max < self.hard_max:
            raise ValueError("limits must satisfy hard_min <= soft_min <= soft_max < hard_max (a soft band below the "
                             "hard maximum, so that a dose near it warns before one beyond it blocks)")
        return self


class ChangeLimits(_Strict):
    """Largest change of the mean daily dose from the current program, in percent, either direction."""

    soft: Annotated[float, Field(gt=0)]
    hard: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> "ChangeLimits":
        if self.soft > self.hard:
            raise ValueError("soft must not exceed hard")
        return self


class PeakRateLimits(_Strict):
    """Largest ratio of a flex step's dose per hour to the mean dose per hour of its day, either limit at
    least 1 (a flat day is 1). A step at ratio r delivers r/24 of its day's dose in each hour it runs, so a
    high ratio is a bolus in all but name, even when the day's total and the cycle mean are in range."""

    soft: Annotated[float, Field(ge=1)]
    hard: Annotated[float, Field(ge=1)]

    @model_validator(mode="after")
    def _ordered(self) -> "PeakRateLimits":
        if self.soft > self.hard:
            raise ValueError("soft must not exceed hard")
        return self


class BolusLimits(_Strict):
    """Largest single bolus in dose units; a hard maximum of 0 means the drug is never given as a bolus."""

    soft_max: Annotated[float, Field(ge=0)]
    hard_max: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _ordered(self) -> "BolusLimits":
        if self.soft_max > self.hard_max:
            raise ValueError("soft_max must not exceed hard_max")
        return self


class StartingDoseLimits(_Strict):
    """The largest first daily dose for a patient new to intrathecal therapy, in the drug's dose unit per
    day: above ``soft_max`` warns, above ``hard_max`` blocks. Used when the pump runs no program to compare
    a new one with and the clinician says the patient is new to it (``programmer.checks``, first programs)."""

    soft_max: Annotated[float, Field(gt=0)]
    hard_max: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> "StartingDoseLimits":
        if not self.soft_max < self.hard_max:
            raise ValueError("soft_max must be below hard_max")
        return self


class RestartPercentLimits(_Strict):
    """After an interruption longer than the restart window: the largest restart dose as a percentage of the
    last daily dose the pump ran, above ``soft`` warns, above ``hard`` blocks (at most 100: never restarts
    above the dose that ran)."""

    soft: Annotated[float, Field(gt=0)]
    hard: Annotated[float, Field(gt=0, le=100)]

    @model_validator(mode="after")
    def _ordered(self) -> "RestartPercentLimits":
        if not self.soft < self.hard:
            raise ValueError("soft must be below hard")
        return self


class RestartRule(_Strict):
    """How therapy that stopped on the pump may start again. Within ``window_hours`` of the stop (pump clock,
    from its event log) the last daily dose is the comparison, as for any change. Beyond it the clinician must
    say what the patient had before, and ``after_window`` applies on top: ``percent_of_last_dose`` (at most
    ``percent_of_last_dose.soft`` / ``.hard`` % of the last dose) or ``starting_dose`` (the drug's starting-dose
    limits, as for a patient new to intrathecal therapy)."""

    window_hours: Annotated[float, Field(gt=0)]
    after_window: Literal["percent_of_last_dose", "starting_dose"]
    percent_of_last_dose: RestartPercentLimits | None = None

    @model_validator(mode="after")
    def _percent_with_its_rule(self) -> "RestartRule":
        if (self.after_window == "percent_of_last_dose") != (self.percent_of_last_dose is not None):
            raise ValueError("percent_of_last_dose is given exactly when after_window is percent_of_last_dose")
        return self


TITRATION_LOOKBACK_HOURS = 24.0
"""The longest ``min_hours_between_increases`` a library may set: the interrogation reads the pump's event log
back 24 h of pump time (``programmer.baseline.BASELINE_WINDOW``, equal to this, a test checks), so an increase
older than that is never seen and a longer interval could not be judged."""


class TitrationLimits(_Strict):
    """Absolute titration limits, where a drug's label sets them: the largest rise of the mean daily dose in
    one step (dose units per day, against the program it replaces) and the least time between two increases
    (hours of pump clock, from the event log's program activations). Both block."""

    max_increase_per_step: Annotated[float, Field(gt=0)]
    min_hours_between_increases: Annotated[float, Field(ge=0, le=TITRATION_LOOKBACK_HOURS)]


MAX_DECIMAL_PLACES = 6
"""The finest entry step a library may set, 0.000001 dose units: far below any dose a pump can meter."""


def decimal_places(step: float) -> int:
    """The decimal places of a power-of-ten step: 1 -> 0, 0.1 -> 1, 0.01 -> 2; ValueError for any other step.

    Only powers of ten, so that the rule a clinician is told is "at most N decimal places", which can be
    checked on the typed text by counting, with no rounding and no float arithmetic."""
    places = round(-math.log10(step)) if step > 0 else -1
    if not 0 <= places <= MAX_DECIMAL_PLACES or not math.isclose(step, 10.0 ** -places, rel_tol=1e-12):
        raise ValueError(f"must be 1 or a power of ten down to {10.0 ** -MAX_DECIMAL_PLACES:.{MAX_DECIMAL_PLACES}f}"
                         " (1, 0.1, 0.01, ...)")
    return places


class EntrySteps(_Strict):
    """The finest step in which a dose is typed, in the drug's dose unit: ``daily_dose`` per day (a simple
    continuous program), ``dose_per_hour`` per hour (a flex step). A typed dose with more decimal places is
    refused at the field, never rounded: the pump must be given the number the screen shows, and digits past
    the step are more often an entry that still held the old dose ("187.5" + "200") than a meaning. A program
    that comes another way (a document, a script) is refused by the check ``DOSE_FINER_THAN_ENTRY_STEP``."""

    daily_dose: float
    dose_per_hour: float

    @field_validator("daily_dose", "dose_per_hour")
    @classmethod
    def _power_of_ten(cls, step: float) -> float:
        decimal_places(step)
        return step


class StabilityLimit(_Strict):
    """How long a fill of the drug stays fit to deliver in the pump, in days from the fill, for the listed
    concentrations (None: every concentration the rule does not list elsewhere), with where the figure comes
    from. It bounds the refill-by date (``programmer.refill_by``) however slowly the reservoir empties."""

    days: Annotated[float, Field(gt=0)]
    concentrations_per_ml: list[Annotated[float, Field(gt=0)]] | None = None
    source: Annotated[str, Field(min_length=1)]


class DrugRule(_Strict):
    """Everything the library says about one drug."""

    name: Annotated[str, Field(min_length=1)]
    dose_unit: DoseUnit
    concentrations_per_ml: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]
    daily_dose: DailyDoseLimits
    entry_step: EntrySteps
    change_percent: ChangeLimits
    """Applies to the mean daily dose against the current program, to each day of a flex cycle, and to the
    daily dose against the one that ran 24 h ago (pump clock)."""
    peak_to_mean_rate: PeakRateLimits
    max_flex_steps_per_day: Annotated[int, Field(ge=1)]
    bolus: BolusLimits
    starting_dose: StartingDoseLimits | None = None
    """None: the library cannot judge a first program for a patient new to intrathecal therapy (refused)."""
    restart: RestartRule | None = None
    """None: no restart window, so a pump that runs nothing is never compared with its last dose."""
    titration: TitrationLimits | None = None
    """None: the change limits in percent are the only titration limits."""
    stability: list[StabilityLimit] = []
    """Empty: the library knows no stability limit in the pump for the drug (the refill-by date then ignores it)."""
    sources: list[str] = []

    @model_validator(mode="after")
    def _one_stability_per_concentration(self) -> "DrugRule":
        catch_alls = [limit for limit in self.stability if limit.concentrations_per_ml is None]
        listed = [c for limit in self.stability for c in limit.concentrations_per_ml or []]
        if len(catch_alls) > 1 or len(listed) != len(set(listed)):
            raise ValueError("stability: each concentration in at most one limit, and at most one limit for the rest")
        return self

    def stability_for(self, concentration_per_ml: float) -> StabilityLimit | None:
        """The stability limit that applies at a concentration (to a relative 1e-9): the limit that lists it, else
        the one for every other concentration; None when the library gives none."""
        for limit in self.stability:
            if any(abs(concentration_per_ml - c) <= 1e-9 * c for c in limit.concentrations_per_ml or []):
                return limit
        return next((limit for limit in self.stability if limit.concentrations_per_ml is None), None)

    def allows_concentration(self, concentration_per_ml: float) -> bool:
        """True when the concentration is one the library lists (to a relative 1e-9, for float noise)."""
        return any(abs(concentration_per_ml - allowed) <= 1e-9 * allowed for allowed in self.concentrations_per_ml)


class LibraryIdentity(_Strict):
    """Which rules applied and who approved them: shown in every report and stored with every audit entry.
    ``approved`` (YYYY-MM-DD), ``signer`` and ``key_id`` come from the library's verified signature; they are
    None only for a library built in memory (``library_from_data`` without an approval), which no front end
    uses: they load libraries with ``load_library``."""

    name: str
    version: str
    sha256: str
    approved: str | None = None
    signer: str | None = None
    key_id: str | None = None

    def approval_words(self) -> str:
        """Who approved the library, when, and with which key, for people."""
        if self.signer is None:
            return "not approved (no signature)"
        return f"approved {self.approved} by {self.signer} (key {self.key_id})"

    def words(self) -> str:
        """The library in one line for people: name, version, approval and key."""
        return f"{self.name} {self.version}, {self.approval_words()}"


class DrugLibrary(_Strict):
    """A validated drug library document."""

    format: Literal["itb-drug-library/1"]
    name: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(min_length=1)]
    notes: str = ""
    drugs: Annotated[list[DrugRule], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> "DrugLibrary":
        names = [drug.name.casefold() for drug in self.drugs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"drug names must be unique; repeated: {', '.join(duplicates)}")
        return self

    def rule_for(self, drug_name: str) -> DrugRule | None:
        """The rule for a drug, matched without regard to letter case; None when the drug is not listed."""
        wanted = drug_name.casefold()
        return next((drug for drug in self.drugs if drug.name.casefold() == wanted), None)


class LoadedLibrary:
    """A library together with its identity (computed once, from its canonical content and its approval)."""

    def __init__(self, library: DrugLibrary, identity: LibraryIdentity, approval: Approval | None = None):
        self.library = library
        self.identity = identity
        self.approval = approval

    def rule_for(self, drug_name: str) -> DrugRule | None:
        return self.library.rule_for(drug_name)


def library_from_data(data: object, source: str, approval: Approval | None = None) -> LoadedLibrary:
    """Validate parsed JSON as a drug library and compute its identity. ``approval`` is what its verified
    signature says (``load_library``); this function verifies nothing itself."""
    if not isinstance(data, dict):
        raise InputError([("", "a drug library must be a JSON object")], source)
    try:
        library = DrugLibrary.model_validate(data, strict=True)
    except ValidationError as exc:
        raise from_validation_error(exc, source)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    approved = {} if approval is None else {"approved": approval.approved, "signer": approval.signer,
                                            "key_id": approval.key_id}
    identity = LibraryIdentity(name=library.name, version=library.version, sha256=digest, **approved)
    return LoadedLibrary(library, identity, approval)


def library_from_bytes(raw: bytes, source: str, approval: Approval | None = None) -> LoadedLibrary:
    """A library file's exact bytes, decoded, parsed strictly and validated (``library_from_data``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([("", "file is not UTF-8 text")], source) from None
    return library_from_data(parse_json_text(text, source), source, approval)


SHIPPED_LIBRARY = "data/drug_library.json"
SHIPPED_SOURCE = "shipped library"


def shipped_library_file() -> str:
    """Where the shipped library is (its signature is beside it): the file a maintainer re-signs."""
    return str(resources.files("programmer").joinpath(SHIPPED_LIBRARY))


def load_library(path: str | os.PathLike | None = None) -> LoadedLibrary:
    """Load the library a user names, or the one shipped with the package when ``path`` is None: only once its
    signature (``FILE.sig``) approves its exact bytes with a trusted key, and from those same bytes (the file
    is read once). An InputError otherwise: unsigned, changed, signed by an unknown key, or not valid."""
    if path is None:
        data = resources.files("programmer")
        signature = data.joinpath(SHIPPED_LIBRARY + SIGNATURE_SUFFIX)
        library_bytes, approval = read_approved(data.joinpath(SHIPPED_LIBRARY), signature, SHIPPED_SOURCE,
                                                str(signature))
        return library_from_bytes(library_bytes, SHIPPED_SOURCE, approval)
    library_bytes, approval = read_approved(Path(path), signature_path(path), str(path), str(signature_path(path)))
    return library_from_bytes(library_bytes, str(path), approval)

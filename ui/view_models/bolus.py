"""The Bolus page's logic without Qt: what is typed for each kind of bolus, its review in words, whether it may be
given, its progress while it runs and its outcome.

The page follows the program's review-and-commit pattern, for four kinds of change (``KINDS``): a therapeutic
bolus (a dose over a duration, on top of the basal program), a priming bolus (the tubing and catheter filled after
an implant, a pump replacement or a catheter revision: its volume comes from the catheter's length, never typed), a
bridge bolus (the old drug left in the line after a concentration change, pushed at the program's dose) and the
patient's demand dose. The reviews, their checks and their figures are the domain's (``programmer.bolus``), shared
with the command line; this module turns what is typed into their arguments and their findings into the
clinician's words (``wording.finding_text``). A review that may be given is handed to the window as it is: the
commit (``programmer.bolus_commit``) checks again and sends it once under one id.

Every figure of a dose is said the ways it can be misread: the total and per hour, in the drug's unit and in mL,
and what the patient gets in the next 24 h with the basal program, so a dose typed as per hour where the total was
meant shows as the large total it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from programmer.bolus import (BolusReview, BridgeReview, DemandReview, PrimeReview, review_bolus, review_bridge,
                              review_demand, review_prime)
from programmer.commit import SessionResult
from programmer.errors import InputError
from programmer.library import LoadedLibrary
from programmer.outcome import Outcome
from programmer.port import BolusOutcome, BolusState, DemandDose, DemandSettings
from programmer.review import Decision, Review
from programmer.snapshot import PumpSnapshot
from ui.view_models.format import NOT_APPLICABLE, PUMP_CLOCK, dated, quantity, span
from ui.view_models.refill_steps import Verdict, reason_problem_text, sentence
from ui.view_models.event_text import DEMAND_REFUSED_REASONS
from ui.view_models.wording import finding_text

if TYPE_CHECKING:
    from clinic.prime_catheter import RecordedCatheter  # the clinic's modules load in its thread, after start-up

KINDS = ("therapeutic", "prime", "bridge", "demand")
KIND_LABELS = {
    "therapeutic": "Therapeutic bolus",
    "prime": "Priming bolus (after an implant, a pump replacement or a catheter revision)",
    "bridge": "Bridge bolus (the old drug in the line after a concentration change)",
    "demand": "Patient demand dose",
}
PRIME_REASONS = {
    "implant": "An implant",
    "pump_replacement": "A pump replacement",
    "catheter_revision": "A catheter revision",
}
_PLAIN = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
"""A typed figure: digits and at most one decimal point (no sign, exponent or comma: each is a slip here)."""


@dataclass(frozen=True)
class Evaluation:
    """What the page shows for what is typed: the verdict (which lets the bolus be given), the figures in words, and
    the review to give (None until one may be given)."""

    verdict: Verdict
    figures: str = ""
    review: Review | None = None


def parse_figure(text: str, what: str, unit: str) -> float:
    """A positive figure typed in ``unit``, or ValueError saying what is wrong in the clinician's words."""
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"enter {what} in {unit}")
    if "," in stripped and "." not in stripped and _PLAIN.fullmatch(stripped.replace(",", ".")):
        raise ValueError(f"{what} {stripped!r}: use a decimal point, not a comma")
    if not _PLAIN.fullmatch(stripped) or not math.isfinite(float(stripped)) or float(stripped) <= 0:
        raise ValueError(f"{what} {stripped!r}: type a number above 0 in {unit}, with the digits 0-9 and at most "
                         "one decimal point")
    return float(stripped)


def parse_whole(text: str, what: str) -> int:
    stripped = text.strip()
    if not stripped.isdigit() or int(stripped) <= 0:
        raise ValueError(f"{what} {stripped!r}: type a whole number above 0" if stripped else f"enter {what}")
    return int(stripped)


def parse_segments(text: str) -> tuple[float, ...]:
    """A revised catheter's segments typed as 'A, B' (cm); empty for a catheter in one piece."""
    if not text.strip():
        return ()
    return tuple(parse_figure(part, "a segment", "cm") for part in text.replace(";", ",").split(","))


def catheter_refusal(recorded: RecordedCatheter, typed_cm: float) -> str | None:
    """Why a typed catheter length may not prime this pump (not the one the clinic recorded, naming both and the
    command that records a revision), or None when it is the recorded one."""
    from clinic.errors import CatheterMismatch  # loaded already: the record was read in the clinic thread
    from clinic.prime_catheter import prime_length

    try:
        prime_length(recorded, typed_cm)
    except CatheterMismatch as exc:
        how = (f", with pump-programmer patient revise-catheter {exc.serial} --patient {exc.patient} --catheter-cm "
               f"{exc.given:g} --date YYYY-MM-DD --note TEXT")
        return str(CatheterMismatch(exc.serial, exc.patient, exc.recorded, exc.given,
                                    named="The catheter length typed, ", how=how))
    return None


class BolusEntry:
    """The boluses that can be given to one pump, as read (``snapshot``), with its demand dose (``demand``)."""

    def __init__(self, snapshot: PumpSnapshot, library: LoadedLibrary, demand: DemandSettings | None = None):
        self.snapshot = snapshot
        self.library = library
        self.demand_settings = demand

    @property
    def unit(self) -> str:
        drug = self.snapshot.active.drug
        return drug.dose_unit if drug is not None else ""

    def unavailable(self, kind: str) -> str | None:
        """Why ``kind`` cannot be given to this pump at all, in words; None when it can be reviewed."""
        identity = self.snapshot.identity
        if self.snapshot.active.drug is None:
            return "The pump holds no drug: fill it first (Pump menu, Refill the pump)."
        if kind != "therapeutic" and identity.max_bolus_ml_per_hour is None:
            return ("This pump does not report its dead volume (tubing and catheter), so it cannot take a priming or "
                    "bridge bolus or a demand dose.")
        if kind == "demand" and self.demand_settings is None:
            return "This pump has no patient demand dose."
        return None

    # --- each kind -----------------------------------------------------------------------------------

    def therapeutic(self, dose: str, duration: str, override: str) -> Evaluation:
        unit = self.unit
        try:
            dose_value = parse_figure(dose, "the dose", unit)
            minutes = parse_figure(duration, "the duration", "min")
        except ValueError as exc:
            return _unready(exc)
        return self._judged(lambda reason: review_bolus(self.snapshot, dose_value, minutes, self.library,
                                                        override_reason=reason), override, bolus_figures)

    def prime(self, catheter: str, segments: str, reason_key: str | None, override: str,
              recorded: RecordedCatheter | None = None) -> Evaluation:
        """``recorded``: the catheter length the clinic recorded for this pump of the visit's patient; another length
        typed is refused, naming both and how to record a revision (``clinic.prime_catheter``)."""
        try:
            length = parse_figure(catheter, "the catheter length", "cm")
            parts = parse_segments(segments)
        except ValueError as exc:
            return _unready(exc)
        if recorded is not None:
            refusal = catheter_refusal(recorded, length)
            if refusal is not None:
                return Evaluation(Verdict(False, sentence(refusal), "error"))
        if reason_key not in PRIME_REASONS:
            return Evaluation(Verdict(False, "Choose why the line is primed: an implant, a pump replacement or a "
                                             "catheter revision.", "error"))
        return self._judged(lambda reason: review_prime(self.snapshot, length, reason_key, self.library,
                                                        segments_cm=parts, override_reason=reason),
                            override, prime_figures)

    def bridge(self, override: str) -> Evaluation:
        return self._judged(lambda reason: review_bridge(self.snapshot, self.library, override_reason=reason),
                            override, bridge_figures)

    def demand(self, enabled: bool, dose: str, duration: str, lockout: str, most: str, override: str) -> Evaluation:
        if enabled:
            try:
                demand = DemandDose(True, parse_figure(dose, "the dose per press", self.unit),
                                    parse_figure(duration, "the duration per press", "min"),
                                    parse_figure(lockout, "the lockout", "min"), parse_whole(most, "the most a day"))
            except ValueError as exc:
                return _unready(exc)
        else:
            demand = DemandDose(False)
        return self._judged(lambda reason: review_demand(self.snapshot, demand, self.library, override_reason=reason),
                            override, demand_figures)

    # --- the shared judgement --------------------------------------------------------------------------

    def _judged(self, review_with, override: str, figures) -> Evaluation:
        """Review, then: refused (errors), asks a reason (warnings), or ready; the reason given reviews again."""
        try:
            review = review_with(None)
        except InputError as exc:
            return Evaluation(Verdict(False, sentence("; ".join(message for _, message in exc.problems)), "error"))
        words = figures(review)
        texts = " ".join(sentence(finding_text(f)) for f in review.report.findings)
        if review.decision is Decision.REFUSE:
            return Evaluation(Verdict(False, f"Refused. {texts}", "error"), words)
        asks = review.decision is Decision.NEEDS_OVERRIDE
        if asks:
            problem = reason_problem_text(override, " Give a reason to go on despite the warnings.")
            if problem is not None:
                return Evaluation(Verdict(False, f"{texts}{problem}", "warning", asks_reason=True), words)
            review = review_with(override.strip())
        return Evaluation(Verdict(True, texts or "No finding: within every limit.", "warning" if asks else "ok",
                                  asks_reason=asks), words, review)


def _unready(exc: ValueError) -> Evaluation:
    return Evaluation(Verdict(False, sentence(str(exc)), "error"))


# --- the figures, each kind ----------------------------------------------------------------------------


def _unit(review: Review) -> str:
    drug = review.snapshot.active.drug
    return drug.dose_unit if drug is not None else ""


def bolus_figures(review: BolusReview) -> str:
    """The total, per hour, in mL, and the next 24 h with the basal program and the boluses of the last 24 h."""
    unit = _unit(review)
    return (f"{quantity(review.dose, unit)} in total over {quantity(review.duration_min, 'min')} = "
            f"{quantity(review.dose_per_hour, f'{unit}/h')}; {quantity(review.volume_ml, 'mL', 3)} at "
            f"{quantity(review.ml_per_hour, 'mL/h', 3)}. In the next 24\u00a0h with the basal program: "
            f"{quantity(review.next_24h_dose, unit)} (boluses in the last 24\u00a0h: "
            f"{quantity(review.recent_bolus_dose, unit)}).")


def prime_figures(review: PrimeReview) -> str:
    unit = _unit(review)
    return (f"Fills the tubing and the {quantity(review.catheter_cm, 'cm')} catheter: {quantity(review.volume_ml, 'mL', 3)}"
            f" (computed, not typed) at {quantity(review.ml_per_hour, 'mL/h')}, {span(review.duration_min * 60)} with "
            f"the basal program paused, then the program runs. It moves {quantity(review.dose, unit)} of drug into "
            f"the line. To the patient, from the line the pump reports: {review.patient_words}.")


def bridge_figures(review: BridgeReview) -> str:
    unit = _unit(review) if review.new_drug is None else review.new_drug.dose_unit
    old = quantity(review.old_concentration_per_ml, f"{unit}/mL")
    lasts = NOT_APPLICABLE if review.duration_min is None else f"about {span(review.duration_min * 60)}"
    return (f"Pushes the {quantity(review.volume_ml, 'mL', 3)} of the old {old} in the tubing and catheter at the "
            f"program's dose rate ({lasts}), then the new concentration's mL rates take over: the patient gets "
            f"{quantity(review.dose, unit)} of the old drug at the programmed dose, not at the new mL rate.")


def demand_figures(review: DemandReview) -> str:
    demand, unit = review.demand, _unit(review)
    if not demand.enabled:
        return "The demand dose is switched off: a press of the button gives nothing."
    return (f"{quantity(demand.dose, unit)} ({quantity(review.volume_ml, 'mL', 3)}) over "
            f"{quantity(demand.duration_min, 'min')} a press, {quantity(demand.lockout_min, 'min')} apart at least, "
            f"at most {demand.max_per_day} a day: up to {quantity(review.max_demand_daily_dose, unit)} a day on top "
            f"of the program's {quantity(review.basal_daily_dose, unit)}, {quantity(review.max_daily_dose, unit)} a "
            f"day in all. Low-reservoir alarm {dated(review.low_alarm_at, PUMP_CLOCK)} on the program alone, "
            f"{dated(review.low_alarm_at_full_use, PUMP_CLOCK)} if every allowed press is used.")


# --- progress and outcome --------------------------------------------------------------------------------


def progress(bolus: BolusState, unit: str) -> tuple[int, str]:
    """A running bolus: the percentage delivered and the words under the bar."""
    share = 0.0 if bolus.dose <= 0 else min(1.0, bolus.delivered / bolus.dose)
    name = KIND_LABELS.get(bolus.kind, "Bolus").split(" (")[0]
    return round(share * 100), (f"{name} {bolus.bolus_id}: {quantity(bolus.delivered, unit, 3)} of "
                                f"{quantity(bolus.dose, unit)} delivered, {span(bolus.remaining_s)} left. Stopping it "
                                "keeps what was delivered.")


def outcome_text(result: SessionResult) -> Verdict:
    """What became of a bolus or a demand dose sent: started (or verified), or not, or not known."""
    message = sentence(result.message)
    audit = f" The audit log could not be written: {result.audit_error}." if result.audit_error else ""
    if result.outcome is Outcome.VERIFIED:
        return Verdict(True, f"{message}{audit}")
    if result.outcome is Outcome.UNCERTAIN:
        return Verdict(False, f"UNCERTAIN: {message} Do not give it again: reconnect and read the pump first.{audit}",
                       "error")
    return Verdict(False, f"NOT GIVEN ({result.outcome.value}): {message}{audit}", "error")


def outcome_title(result: SessionResult) -> str:
    """The banner's title for a bolus or demand dose sent."""
    demand = isinstance(result.review, DemandReview)
    if result.outcome is Outcome.VERIFIED:
        return "Demand dose set and verified." if demand else "Bolus started."
    if result.outcome is Outcome.UNCERTAIN:
        return "UNCERTAIN: whether the pump took it is not known."
    return "Demand dose NOT SET." if demand else "Bolus NOT GIVEN."


def uncertain_verdict(message: str) -> Verdict:
    """A request that failed in a way that may have reached the pump (a lost link, an unexpected error)."""
    return Verdict(False, f"UNCERTAIN: {sentence(message)} Whether the pump took it is not known: reconnect and read "
                          "the pump before giving anything again.", "error")


def ended_text(outcome: BolusOutcome | None, unit: str, asked: float | None = None) -> str:
    """How the bolus watched ended, as the pump says (``BOLUS_STATUS`` or ``CANCEL_BOLUS``, whose ``dose`` is what was
    delivered); ``asked``: its whole dose, as the progress last showed it."""
    if outcome is None:
        return "The bolus has ended; the pump does not say how: read the event log."
    name = KIND_LABELS.get(outcome.kind, "Bolus").split(" (")[0]
    given = outcome.delivered if outcome.delivered is not None else outcome.dose
    of = "" if asked is None else f" of {quantity(asked, unit, 3)}"
    if outcome.state == "done":
        return f"{name} {outcome.bolus_id} done: {quantity(given, unit, 3)}{of} delivered."
    if outcome.state == "cancelled":
        return f"{name} {outcome.bolus_id} stopped: {quantity(given, unit, 3)}{of} delivered; the rest will not be."
    return f"{name} {outcome.bolus_id}: {outcome.state}, {quantity(given, unit, 3)}{of} delivered."


def press_text(answer: dict) -> tuple[str, str, str]:
    """The demo's button press in the banner: severity, title, text."""
    if answer.get("granted"):
        return "info", "Demand button pressed: a dose was given.", f"Bolus {answer.get('bolus_id')} runs."
    reason = DEMAND_REFUSED_REASONS.get(str(answer.get("reason")), str(answer.get("reason")).replace("_", " "))
    after = answer.get("next_allowed")
    when = f" Next allowed {dated(datetime.fromisoformat(after), PUMP_CLOCK)}." if isinstance(after, str) else ""
    return "info", "Demand button pressed: nothing given.", f"The pump refused it: {reason}.{when}"

"""The refill wizard's logic without Qt: what each step says, and whether it lets the clinician go on.

The steps are those of ``programmer.refill`` (expect, withdraw, syringe, inject, then the result): the wizard
only turns what is typed into the domain's objects and the domain's findings into the clinician's words
(``wording.finding_text``), so the application and the command line refuse the same refills for the same
reasons. A step's ``Verdict`` says whether the Next button may be used; nothing here sends anything.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from programmer.commit import SessionResult
from programmer.errors import InputError
from programmer.library import LoadedLibrary
from programmer.outcome import Outcome
from programmer.overrides import reason_problem
from programmer.planner import Plan
from programmer.program import Drug
from programmer.refill import (REFILL_GUIDANCE, RefillRequest, RefillReview, Syringe, Withdrawal, check_withdrawal,
                               expect, review_refill)
from programmer.refill_by import REASON_WORDS, RefillBy, plan_refill_by, replace_by, snapshot_refill_by
from programmer.bolus import BridgeReview, bridge_of
from programmer.review import Decision, same_substance
from programmer.snapshot import PumpSnapshot
from ui.view_models.format import PUMP_CLOCK, dated, quantity, span
from ui.view_models.wording import finding_text, plain

DOSE_UNITS: dict[str, Literal["mcg", "mg"]] = {"mcg": "mcg", "mg": "mg"}
STEPS = ("Expect", "Withdraw", "Syringe", "Inject", "Result")
GUIDANCE = REFILL_GUIDANCE
SYRINGE_FIELDS = ("drug", "expiry")
"""The findings about the syringe itself (its drug, concentration and expiry), shown on the Syringe step."""
_PLAIN = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
"""A typed volume: digits and at most one decimal point (no sign, exponent or comma: each is a slip here)."""


@dataclass(frozen=True)
class Verdict:
    """What a step says about what was typed: ``ready`` lets the wizard go on; ``severity`` colours the text."""

    ready: bool
    text: str
    severity: str = "ok"  # ok, warning or error
    asks_reason: bool = False
    """Whether the step needs a reason to go on (the wizard shows the reason's field only then)."""
    offers_bridge: bool = False
    """Whether the step offers the bridge bolus (a concentration change: the wizard shows its tick box only then)."""


def parse_volume(text: str, what: str) -> float:
    """A volume typed in mL (0 allowed), or ValueError saying what is wrong in the clinician's words."""
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"enter the volume {what} in mL")
    if "," in stripped:
        raise ValueError(f"{stripped!r}: use a decimal point, not a comma")
    if not _PLAIN.fullmatch(stripped) or not math.isfinite(float(stripped)):
        raise ValueError(f"{stripped!r}: type the volume with the digits 0-9 and at most one decimal point")
    return float(stripped)


def parse_expiry(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r}: type the expiry as on the label, year-month-day (2027-03-31)") from None


class RefillSteps:
    """One refill being entered, against the snapshot read when the wizard opened."""

    def __init__(self, snapshot: PumpSnapshot, library: LoadedLibrary):
        self.snapshot = snapshot
        self.library = library
        self.withdrawal: Withdrawal | None = None
        self.withdrawal_reason: str | None = None
        self.syringe: Syringe | None = None
        self.bridge = True
        """Whether a concentration change is recorded with its bridge bolus (the wizard's tick box, on at first)."""
        self.bridge_review: BridgeReview | None = None

    # --- 1 expect ------------------------------------------------------------------------------------

    def expectation(self) -> str:
        expected = expect(self.snapshot)
        return (f"Expect about {quantity(expected.calculated_ml, 'mL')} back: the volume the pump calculated it holds "
                f"(reservoir {quantity(expected.capacity_ml, 'mL')}). A difference of more than "
                f"{quantity(expected.tolerance_ml, 'mL', 3)} stops the refill before anything is injected.")

    def pump_drug(self) -> Drug | None:
        return self.snapshot.active.drug

    # --- 2 withdraw ----------------------------------------------------------------------------------

    def check_withdrawal(self, withdrawn: str, reason: str) -> Verdict:
        """Step 2: within tolerance goes on; beyond it goes on only with a reason; impossible never does."""
        self.withdrawal, self.withdrawal_reason = None, None
        try:
            withdrawal = check_withdrawal(self.snapshot, parse_volume(withdrawn, "withdrawn"))
        except ValueError as exc:
            return Verdict(False, str(exc)[:1].upper() + str(exc)[1:], "error")
        difference = (f"{quantity(withdrawal.withdrawn_ml, 'mL')} withdrawn, "
                      f"{quantity(withdrawal.discrepancy_ml, 'mL', 3)} against the "
                      f"{quantity(withdrawal.calculated_ml, 'mL')} calculated")
        if withdrawal.within_tolerance:
            self.withdrawal = withdrawal
            return Verdict(True, f"{difference}: within the tolerance of {quantity(withdrawal.tolerance_ml, 'mL', 3)}.")
        words = f"{sentence(plain(withdrawal.meaning()))} {sentence(withdrawal.what_to_do())}"
        if not withdrawal.possible:
            return Verdict(False, f"Refused. {words}", "error")
        problem = reason_problem_text(reason)
        if problem is not None:
            return Verdict(False, f"STOP. {words}{problem}", "error", asks_reason=True)
        self.withdrawal, self.withdrawal_reason = withdrawal, reason.strip()
        return Verdict(True, f"{words} Going on, for the reason given.", "warning", asks_reason=True)

    # --- 3 syringe -----------------------------------------------------------------------------------

    def check_syringe(self, name: str, unit: str, concentration: str, lot: str, expiry: str,
                      bridge: bool = True) -> Verdict:
        """Step 3: the syringe as its label says; its own findings (drug, concentration, expiry) stop here. A new
        concentration of the pump's drug goes on only with its bridge bolus (``bridge``), whose figures it shows."""
        self.syringe, self.bridge, self.bridge_review = None, bridge, None
        if not name or unit not in DOSE_UNITS:
            return Verdict(False, "Choose the drug and the dose unit the syringe's label names.", "error")
        try:
            value = float(concentration.strip()) if _PLAIN.fullmatch(concentration.strip()) else math.nan
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{concentration.strip()!r}: type the concentration in {unit}/mL, as on the label")
            drug = Drug(name=name, dose_unit=DOSE_UNITS[unit], concentration_per_ml=value)
            syringe = Syringe(drug, lot, parse_expiry(expiry))
        except InputError as exc:
            return Verdict(False, "; ".join(message for _, message in exc.problems).capitalize(), "error")
        except ValueError as exc:
            return Verdict(False, str(exc)[:1].upper() + str(exc)[1:], "error")
        assert self.withdrawal is not None, "the Syringe step comes after an accepted withdrawal"
        review = self._review(syringe, 0.0, None)
        findings = [f for f in review.report.findings if f.field.split(".")[0] in SYRINGE_FIELDS]
        texts = " ".join(sentence(finding_text(f)) for f in findings)
        offers = review.concentration_change is not None and self._can_bridge()
        if offers:
            try:  # the bridge the refill sends, before the volume added is known (the Inject step checks that)
                self.bridge_review = bridge_of(self.snapshot, self.library, syringe.drug)
            except InputError:  # a pump that does not report its line: the refill's findings say what that means
                self.bridge_review = None
            else:
                texts = f"{texts} {bridge_text(self.bridge_review, bridge)}".strip()
        if any(f.severity == "error" for f in findings) or (offers and not bridge):
            return Verdict(False, f"Refused. {texts}", "error", offers_bridge=offers)
        self.syringe = syringe
        held = self.pump_drug()
        same = review.new_drug is None and held is not None
        what = ("The same drug and concentration as the pump holds." if same else
                f"A new concentration of the pump's drug: {syringe.drug.name} {quantity(value, f'{unit}/mL')}."
                if offers else f"A new drug for this pump: {syringe.drug.name} {quantity(value, f'{unit}/mL')}.")
        return Verdict(True, f"{what} {texts}".strip(), "warning" if findings else "ok", offers_bridge=offers)

    # --- 4 inject ------------------------------------------------------------------------------------

    def most_that_fits_ml(self) -> float:
        """The largest volume to add: the capacity less what may still be in the reservoir."""
        assert self.withdrawal is not None, "the Inject step comes after an accepted withdrawal"
        return self.snapshot.status.capacity_ml - self.withdrawal.left_ml

    def review(self, added: str, override_reason: str, clinician: str) -> tuple[Verdict, RefillReview | None]:
        """Step 4: the whole refill reviewed; ready when it may be recorded (the clinician named too)."""
        assert self.syringe is not None, "the Inject step comes after an accepted syringe"
        try:
            added_ml = parse_volume(added, "added")
        except ValueError as exc:
            return Verdict(False, str(exc)[:1].upper() + str(exc)[1:], "error"), None
        review = self._review(self.syringe, added_ml, None)
        texts = " ".join(sentence(finding_text(f)) for f in review.report.findings)
        asks = review.decision is Decision.NEEDS_OVERRIDE
        if review.decision is Decision.REFUSE:
            return Verdict(False, f"Refused. {texts}", "error"), review
        if asks:
            problem = reason_problem_text(override_reason, " Give a reason to go on despite the warnings.")
            if problem is not None:
                return Verdict(False, f"{texts}{problem}", "warning", asks_reason=True), review
            review = self._review(self.syringe, added_ml, override_reason.strip())
        if not clinician.strip():
            return Verdict(False, f"{texts} Enter your name: it is recorded in the audit log.".strip(), "warning",
                           asks_reason=asks), review
        assert review.plan is not None, "a refill that may be recorded adds no more than the reservoir holds"
        dates = _dates(review.plan, plan_refill_by(review.plan, self.library, replace_by(self.snapshot.status)))
        return Verdict(True, f"{texts} Ready to record: {dates}".strip(), "warning" if texts else "ok",
                       asks_reason=asks), review

    def _can_bridge(self) -> bool:
        """Whether the pump reports its line, which a bridge bolus is computed from (an older pump does not: then a
        concentration change stays refused, CONCENTRATION_CHANGE_NEEDS_BRIDGE)."""
        return self.snapshot.status.line is not None

    def _review(self, syringe: Syringe, added_ml: float, override_reason: str | None) -> RefillReview:
        assert self.withdrawal is not None
        request = RefillRequest(self.withdrawal.withdrawn_ml, added_ml, syringe, self.withdrawal_reason,
                                bridge=self.bridge and self._can_bridge()
                                and _concentration_change(self.pump_drug(), syringe.drug))
        return review_refill(self.snapshot, request, self.library, override_reason)


def _concentration_change(held: Drug | None, new: Drug) -> bool:
    """A new concentration of the drug the pump holds: the change a bridge bolus is for."""
    return held is not None and same_substance(held, new) and held.concentration_per_ml != new.concentration_per_ml


def bridge_text(review: BridgeReview, given: bool) -> str:
    """The bridge bolus a concentration change needs, in words: what it does and what the patient gets without it."""
    unit = review.new_drug.dose_unit if review.new_drug is not None else ""
    old = quantity(review.old_concentration_per_ml, f"{unit}/mL")
    lasts = "" if review.duration_min is None else f" over about {span(review.duration_min * 60)}"
    problems = " ".join(sentence(finding_text(f)) for f in review.report.errors)
    said = (f"The tubing and catheter still hold {quantity(review.volume_ml, 'mL', 3)} of the old {old}. The bridge "
            f"bolus pushes it to the patient at the programmed dose{lasts} ({quantity(review.dose, unit)} of the old "
            "drug), then the new concentration's mL rates take over. Without it the old drug would reach the patient "
            f"at the new mL rate, a different dose. {problems}").strip()
    return said if given else f"{said} A concentration change is recorded only with its bridge bolus: tick it."


def result_text(result: SessionResult, after: PumpSnapshot | None, library: LoadedLibrary) -> Verdict:
    """Step 5: the outcome as read back, and the new dates from the pump's own reading after the refill (from
    the review's plan when that reading failed)."""
    if result.outcome is not Outcome.VERIFIED:
        return Verdict(False, f"NOT RECORDED AS ASKED ({result.outcome.value}): {sentence(result.message)}", "error")
    if after is not None:
        plan, refill = after.forecast(), snapshot_refill_by(after, library)
    else:
        plan = result.review.plan
        refill = None if plan is None else plan_refill_by(plan, library, replace_by(result.review.snapshot.status))
    audit = f" The audit log could not be written: {result.audit_error}." if result.audit_error else ""
    return Verdict(True, f"{sentence(result.message)} {_dates(plan, refill)}{audit}")


def _dates(plan: Plan | None, refill: RefillBy | None) -> str:
    """The new low-reservoir alarm and empty dates, and the refill-by date (``programmer.refill_by``)."""
    by = "" if refill is None else f" Refill by {dated(refill.at, PUMP_CLOCK)}, set by {REASON_WORDS[refill.reason]}."
    if plan is None or plan.mean_daily_dose == 0:
        return f"The pump delivers nothing yet: no low-reservoir alarm or empty date until a program runs.{by}"
    return (f"Low-reservoir alarm {dated(plan.low_alarm_at, PUMP_CLOCK)}; empty "
            f"{dated(plan.empty_at, PUMP_CLOCK)}.{by}")


def reason_problem_text(reason: str, ask: str = "") -> str | None:
    """What keeps ``reason`` from letting a step go on, as a sentence that follows the findings (None when it is
    a reason): ``ask`` when it is blank (where the findings do not already ask for one), the override rule's own
    words when it says nothing."""
    if not reason.strip():
        return ask
    problem = reason_problem(reason)
    return None if problem is None else f" {sentence(problem)}"


def sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."

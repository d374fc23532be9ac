"""The commit of a reviewed bolus, prime, bridge or demand dose, audited, exactly once, and its outcome as the pump
reports it.

A bolus must never be given twice. Every bolus carries an idempotency id (``new_bolus_id``) made once per request,
before anything is sent, written to the audit log with the attempt (no record, nothing sent) and kept in the result
whatever happens. The pump acts on an id once; a resend of the same id only answers how the first went. When the
link fails while the bolus is asked for, whether it started is unknown, so the commit asks the pump with
``bolus_status`` (which never acts) on the same driver, which reconnects if it can: the pump either knows the id (it
started: the outcome is the pump's figures) or does not (nothing was delivered). If even that cannot be answered the
outcome is ``UNCERTAIN`` with the id, never a second request with a new id: the clinician asks the pump about that
id (``bolus_status``) before doing anything else.

A demand dose is a setting, written and read back like a program: ``VERIFIED`` only when the settings read back are
the ones asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, ClassVar

from programmer.audit import AuditLog
from programmer.audit_record import Attempt
from programmer.bolus import BolusReview, BridgeReview, DemandReview, PrimeReview
from programmer.checks import CheckReport
from programmer.clock import computer_now, duration
from programmer.commit import SessionResult, new_bolus_id, refused
from programmer.dead_volume import BRIDGE_VOLUME_TOLERANCE_ML, old_drug_in_line
from programmer.errors import LinkError, LinkNotSecure, PumpRefused
from programmer.library import LibraryIdentity
from programmer.outcome import Outcome
from programmer.port import BolusOutcome, BolusState, DemandDose, DemandSettings, PumpDriver
from programmer.review import Decision, Review
from programmer.roles import User
from programmer.snapshot import PumpSnapshot

BolusLikeReview = BolusReview | PrimeReview | BridgeReview
DOSE_TOLERANCE = 1e-9
"""Relative: a figure the pump reports back equals the one sent but for what a number loses on the wire."""
LINE_VOLUME_TOLERANCE_ML = 1e-6
"""A prime's volume is the pump's own figure of its line to within this (docs/protocol.md, BOLUS). A bridge's may be
the pump's current figure of the old drug, which drains between the review and the request: within
``BRIDGE_VOLUME_TOLERANCE_ML`` (``programmer.dead_volume``)."""


def commit_bolus(driver: PumpDriver, review: BolusReview, user: User, audit: AuditLog,
                 bolus_id: str | None = None) -> SessionResult:
    """Give the reviewed therapeutic bolus (only if the decision is to proceed), once."""
    return _commit(driver, review, user, audit, bolus_id,
                   lambda pump, key: pump.bolus(key, review.dose, review.duration_min))


def commit_prime(driver: PumpDriver, review: PrimeReview, user: User, audit: AuditLog,
                 bolus_id: str | None = None) -> SessionResult:
    """Prime the line with the reviewed volume (only if the decision is to proceed), once."""
    return _commit(driver, review, user, audit, bolus_id,
                   lambda pump, key: pump.prime(key, review.catheter_cm, review.volume_ml, review.reason,
                                                review.segments_cm))


def commit_bridge(driver: PumpDriver, review: BridgeReview, user: User, audit: AuditLog,
                  bolus_id: str | None = None) -> SessionResult:
    """Start the reviewed bridge of the pump's line (only if the decision is to proceed), once. A bridge at a refill
    is sent with the refill (``programmer.commit.commit_refill``)."""
    return _commit(driver, review, user, audit, bolus_id,
                   lambda pump, key: pump.bridge(key, review.volume_ml, review.old_concentration_per_ml))


def _kind(review: BolusLikeReview) -> str:
    return {"bolus": "therapeutic", "prime": "prime", "bridge": "bridge"}[review.action]


def _commit(driver: PumpDriver, review: BolusLikeReview, user: User, audit: AuditLog, bolus_id: str | None,
            send: Callable[[PumpDriver, str], BolusOutcome]) -> SessionResult:
    key = bolus_id or new_bolus_id()
    review = review.with_id(key)
    attempt = Attempt(audit, review, user, driver.insecure_changes)
    if review.decision is not Decision.PROCEED:
        return _refused(attempt, key)
    attempt.begin()
    what = f"{_kind(review)} bolus {key}"
    try:
        stale = _gone_stale(driver, review)
        if stale:
            return _finish(attempt, Outcome.REFUSED, f"{stale}: the {what} was not sent; interrogate the pump and "
                           "review it again", key)
        started = send(driver, key)
    except LinkNotSecure as exc:
        return _finish(attempt, Outcome.REFUSED, f"{exc}: the {what} was not sent", key)
    except PumpRefused as exc:
        return _finish(attempt, Outcome.PUMP_REFUSED, f"{exc}: the {what} was not started", key)
    except LinkError as exc:
        return _reconcile(driver, attempt, key, what, exc)
    return _judge(attempt, key, what, started, "")


def _gone_stale(driver: PumpDriver, review: Review) -> str | None:
    """Why the review no longer describes the pump, read just before sending (None when it still does): another
    programmer changed the program, or a bolus started since."""
    status = driver.read_status()
    then = review.snapshot.status
    if status.program_checksum != then.program_checksum:
        return (f"the pump's program changed since the review (it was {then.program_checksum}, it is now "
                f"{status.program_checksum})")
    if status.bolus is not None and (then.bolus is None or then.bolus.bolus_id != status.bolus.bolus_id):
        return f"a {status.bolus.kind} bolus ({status.bolus.bolus_id}) started since the review"
    return None


def _reconcile(driver: PumpDriver, attempt: Attempt, key: str, what: str, failure: LinkError) -> SessionResult:
    """After a link failure while asking for a bolus: ask the pump whether it knows the id (which never acts)."""
    try:
        known = driver.bolus_status(key)
    except (LinkError, PumpRefused) as exc:
        return _finish(attempt, Outcome.UNCERTAIN, f"the link failed while asking for the {what} ({failure}) and the "
                       f"pump could not say whether it started ({exc}): it may be delivering. Do not give it again: "
                       f"ask the pump about bolus id {key} (bolus status) and watch the patient", key)
    if known is None:
        return _finish(attempt, Outcome.UNCHANGED, f"the link failed while asking for the {what} ({failure}); the pump "
                       "reports it never started it: nothing was delivered", key)
    return _judge(attempt, key, what, known, f" (the link failed while asking for it, {failure}; the pump reports "
                  "it by its id)")


def _judge(attempt: Attempt, key: str, what: str, started: BolusOutcome, note: str) -> SessionResult:
    """VERIFIED when the pump reports this id, kind and dose; MISMATCH otherwise."""
    review = attempt.review
    assert isinstance(review, (BolusReview, PrimeReview, BridgeReview))
    asked, kind = review.dose, _kind(review)
    drug = review.snapshot.active.drug
    unit = "" if drug is None else f" {drug.dose_unit}"
    delivered = "" if started.delivered is None else f", {started.delivered:.4g}{unit} delivered so far"
    figures = (f"{started.dose:.4g}{unit} ({started.volume_ml:.4g} mL), {started.state}{delivered}"
               + ("" if started.duration_min is None else f", {started.duration_min:.4g} min"))
    same_dose = abs(started.dose - asked) <= DOSE_TOLERANCE * max(1.0, abs(asked))
    tolerance = BRIDGE_VOLUME_TOLERANCE_ML if kind == "bridge" else LINE_VOLUME_TOLERANCE_ML
    same_line = kind != "therapeutic" and abs(started.volume_ml - review.volume_ml) <= tolerance * (1 + 1e-9)
    if started.bolus_id == key and started.kind == kind and (same_dose or same_line):
        return _finish(attempt, Outcome.VERIFIED, f"{what} started: {figures}{note}", key, started)
    return _finish(attempt, Outcome.MISMATCH, f"the pump reports bolus {started.bolus_id} ({started.kind}) of "
                   f"{figures}, not the {what} of {asked:.4g}{unit} asked{note}: interrogate it and watch the patient", key,
                   started)


def _bolus_dict(started: BolusOutcome) -> dict:
    return {"bolus_id": started.bolus_id, "kind": started.kind, "dose": started.dose, "volume_ml": started.volume_ml,
            "state": started.state, "repeated": started.repeated, "duration_min": started.duration_min,
            "delivered": started.delivered}


def _refused(attempt: Attempt, key: str | None) -> SessionResult:
    """A review that may not be sent: nothing was, the record says why, and the result keeps the id."""
    return replace(refused(attempt), bolus_id=key)


def _finish(attempt: Attempt, outcome: Outcome, message: str, key: str | None, started: BolusOutcome | None = None,
            demand: DemandSettings | None = None) -> SessionResult:
    reported = None
    if started is not None:
        reported = {"bolus": _bolus_dict(started)}
    elif demand is not None:
        reported = {"demand": _demand_dict(demand)}
    active = attempt.review.snapshot.active
    audit_error = attempt.finish(outcome, message, active, pump_reported=reported)
    return SessionResult(attempt.review, outcome, message, active, audit_error=audit_error, bolus_id=key,
                         bolus=started, demand=demand)


# --- the demand dose ------------------------------------------------------------------------------------------


def commit_demand(driver: PumpDriver, review: DemandReview, user: User, audit: AuditLog) -> SessionResult:
    """Set the reviewed demand dose (or switch it off; only if the decision is to proceed) and compare what is read
    back: VERIFIED, MISMATCH, or UNCERTAIN when it cannot be read."""
    attempt = Attempt(audit, review, user, driver.insecure_changes)
    if review.decision is not Decision.PROCEED:
        return _refused(attempt, None)
    attempt.begin()
    try:
        settings = driver.write_demand(review.demand)
    except LinkNotSecure as exc:
        return _finish(attempt, Outcome.REFUSED, f"{exc}: the demand dose was not sent", None)
    except PumpRefused as exc:
        return _finish(attempt, Outcome.PUMP_REFUSED, f"{exc}: the demand dose was not changed", None)
    except LinkError as exc:
        try:
            settings = driver.read_demand()
        except (LinkError, PumpRefused) as again:
            return _finish(attempt, Outcome.UNCERTAIN, f"the link failed while setting the demand dose ({exc}) and "
                           f"it could not be read back ({again}): interrogate the pump", None)
    if same_demand(review.demand, settings.demand):
        return _finish(attempt, Outcome.VERIFIED, f"demand dose {describe_demand(settings)}: set and verified "
                       f"(checksum {settings.checksum})", None, demand=settings)
    return _finish(attempt, Outcome.MISMATCH, f"the pump reports the demand dose {describe_demand(settings)}, not the "
                   f"one asked ({describe_demand(DemandSettings(review.demand, review.dose_unit, ''))}): "
                   "interrogate it", None, demand=settings)


def same_demand(asked: DemandDose, read_back: DemandDose) -> bool:
    """Whether the demand dose read back is the one asked: off either way, or the same figures but for the last bits
    a number loses on the wire."""
    if not asked.enabled or not read_back.enabled:
        return asked.enabled == read_back.enabled
    figures = ((asked.dose, read_back.dose), (asked.duration_min, read_back.duration_min),
               (asked.lockout_min, read_back.lockout_min))
    return (asked.max_per_day == read_back.max_per_day
            and all(abs(a - b) <= DOSE_TOLERANCE * max(1.0, abs(a)) for a, b in figures))


def describe_demand(settings: DemandSettings) -> str:
    """The demand dose in words: 'off', or '25 mcg over 10 min, lockout 240 min, at most 6 a day'."""
    demand = settings.demand
    if not demand.enabled:
        return "off"
    return (f"{demand.dose:g} {settings.dose_unit or ''} over {demand.duration_min:g} min, lockout "
            f"{demand.lockout_min:g} min, at most {demand.max_per_day} a day").replace("  ", " ")


def _demand_dict(settings: DemandSettings) -> dict:
    demand = settings.demand
    return {"enabled": demand.enabled, "dose": demand.dose, "dose_unit": settings.dose_unit,
            "duration_min": demand.duration_min, "lockout_min": demand.lockout_min,
            "max_per_day": demand.max_per_day, "checksum": settings.checksum}


# --- cancelling a bolus -----------------------------------------------------------------------------------------

CANCEL_NOT_CHECKED = LibraryIdentity(name="none: a cancel is not checked against a drug library", version="",
                                     sha256="")
"""The report library of a cancel, which no library rule applies to (its audit records say ``library`` null)."""


@dataclass(frozen=True)
class CancelReview(Review):
    """A cancel of a bolus: always allowed (no findings), audited like any change. ``running``: the bolus the pump
    reported running under that id when it was read (None: it had ended, or the pump did not report it)."""

    action: ClassVar[str] = "cancel_bolus"
    bolus_id: str | None
    """None when no bolus was running and none was named (nothing was sent)."""
    running: BolusState | None

    def audit_details(self) -> dict:
        running = self.running
        return {"bolus": {"bolus_id": self.bolus_id, "kind": None if running is None else running.kind,
                          "dose": None if running is None else running.dose,
                          "delivered_before": None if running is None else running.delivered}}

    def audit_library(self) -> dict | None:
        return None


def commit_cancel(driver: PumpDriver, bolus_id: str | None, user: User, audit: AuditLog,
                  clock: Callable[[], datetime] = computer_now) -> SessionResult:
    """Cancel the bolus ``bolus_id`` (None: the one running), audited: the pump is read (identify, status, program),
    an attempt record is written (no record, nothing sent), CANCEL_BOLUS is sent, the pump is asked how the bolus
    ended (``bolus_status``) and the outcome is recorded with the pump's figures:

    - ``VERIFIED``: it was delivering and the pump reports it cancelled;
    - ``UNCHANGED``: it had already ended (the pump answers how), no bolus runs (nothing sent), or the cancel never
      arrived (the pump reports it still delivering: cancel again);
    - ``UNCERTAIN``: the link failed and the pump could not say; ``PUMP_REFUSED``: it knows no such id.

    When the cancelled bolus is a bridge, the message says how much of the old drug is still in the line, the dose
    rate it reaches the patient at once the program pushes it at the reservoir drug's mL rate, and to resume it with
    ``bridge``.

    Raises, before anything is sent: LinkError / PumpRefused when the pump cannot be read (nothing recorded);
    PermissionRefused when the user's role may not stop a bolus (recorded)."""
    before = clock()
    identity = driver.identify()
    status = driver.read_status()
    snapshot = PumpSnapshot(identity, status, driver.read_program(), before)
    running = status.bolus
    key = bolus_id or (None if running is None else running.bolus_id)
    if key is None:
        review = CancelReview(snapshot, CheckReport(CANCEL_NOT_CHECKED), None, snapshot.active.program, None, None,
                              None)
        attempt = Attempt(audit, review, user, driver.insecure_changes)
        attempt.authorize()
        return _finish(attempt, Outcome.UNCHANGED, "no bolus is running: nothing to cancel, nothing was sent", None)
    was_running = running if running is not None and running.bolus_id == key else None
    review = CancelReview(snapshot, CheckReport(CANCEL_NOT_CHECKED), None, snapshot.active.program, None, key,
                          was_running)
    attempt = Attempt(audit, review, user, driver.insecure_changes)
    attempt.begin()
    failure: LinkError | None = None
    stopped: BolusOutcome | None = None
    try:
        stopped = driver.cancel_bolus(key)
    except LinkNotSecure as exc:
        return _finish(attempt, Outcome.REFUSED, f"{exc}: the cancel of bolus {key} was not sent; the bolus goes on",
                       key)
    except PumpRefused as exc:
        return _finish(attempt, Outcome.PUMP_REFUSED, f"{exc}: nothing was cancelled", key)
    except LinkError as exc:
        failure = exc
    try:
        known = driver.bolus_status(key)
    except (LinkError, PumpRefused) as exc:
        if failure is not None:
            return _finish(attempt, Outcome.UNCERTAIN, f"the link failed while cancelling bolus {key} ({failure}) and "
                           f"the pump could not say how it is ({exc}): it may still be delivering. Ask the pump about "
                           f"bolus id {key} (bolus status) and cancel it again if it is", key)
        known = None
    if known is None and stopped is None:
        return _finish(attempt, Outcome.UNCERTAIN, f"the link failed while cancelling bolus {key} ({failure}) and the "
                       "pump does not know that id now: interrogate it", key)
    note = "" if failure is None else f" (the link failed while cancelling, {failure}; the pump reports it by its id)"
    figures = _cancel_figures(known, stopped)
    what = f"{figures.kind} bolus {key}"
    amount = _delivered_words(figures, snapshot)
    if figures.state == "delivering":
        return _finish(attempt, Outcome.UNCHANGED, f"the pump reports the {what} still delivering ({amount}){note}: "
                       "it was not cancelled; cancel it again", key, figures)
    if was_running is None:
        left = ". " + _bridge_left(driver, snapshot) if figures.kind == "bridge" and figures.state == "cancelled" else ""
        return _finish(attempt, Outcome.UNCHANGED, f"the {what} had already ended ({figures.state}): {amount}{note}; "
                       f"nothing was changed{left}", key, figures)
    message = f"{what} cancelled: {amount}{note}"
    if figures.kind == "bridge":
        message += ". " + _bridge_left(driver, snapshot)
    return _finish(attempt, Outcome.VERIFIED, message, key, figures)


def _cancel_figures(known: BolusOutcome | None, stopped: BolusOutcome | None) -> BolusOutcome:
    """The bolus as the pump reports it after the cancel: BOLUS_STATUS's figures (its kind, dose asked, volume and
    what it delivered), else CANCEL_BOLUS's (delivered and state only)."""
    if known is not None:
        return known
    assert stopped is not None
    return stopped


def _delivered_words(figures: BolusOutcome, snapshot: PumpSnapshot) -> str:
    """'12.5 of 153 mcg delivered (0.025 mL)': the mL in proportion to the bolus's own volume (a bridge's is at the
    old concentration, never the reservoir's)."""
    drug = snapshot.active.drug
    unit = "" if drug is None else f" {drug.dose_unit}"
    delivered = figures.delivered if figures.delivered is not None else figures.dose
    if figures.dose > 0 and figures.volume_ml > 0 and figures.delivered is not None:
        volume = f" ({delivered / figures.dose * figures.volume_ml:.4g} mL)"
        return f"{delivered:.4g} of {figures.dose:.4g}{unit} delivered{volume}"
    return f"{delivered:.4g}{unit} delivered"


def _bridge_left(driver: PumpDriver, before: PumpSnapshot) -> str:
    """What a cancelled bridge leaves: the old drug still in the line, the dose rate the program now pushes it to the
    patient at, for how long, and to resume with ``bridge``."""
    resume = "resume it with `bridge` now (it pushes the rest at the old drug's own mL rate)"
    try:
        status = driver.read_status()
    except (LinkError, PumpRefused) as exc:
        return (f"The line could not be read after the cancel ({exc}): it still holds old drug, which the program "
                f"pushes to the patient at the reservoir drug's mL rate; interrogate the pump and {resume}")
    after = replace(before, status=status)
    left = line_left(after)
    if left is None:
        return "The line no longer holds the old drug: no bridge is needed"
    return f"{left[0].upper()}{left[1:]}: {resume}"


def line_left(snapshot: PumpSnapshot) -> str | None:
    """The drug in the pump's line other than the reservoir's, in words: how much, the dose rate it reaches the
    patient at under the program (against the program's own) and until when; None when the line holds none (or the
    pump does not report it)."""
    line, drug = snapshot.status.line, snapshot.active.drug
    if line is None or drug is None:
        return None
    old = old_drug_in_line(snapshot.forecast(), line.contents, drug.concentration_per_ml)
    if old is None:
        return None
    unit = drug.dose_unit
    held = ", ".join(f"{concentration:g} {unit}/mL" for concentration in old.concentrations)
    words = f"the line still holds {old.volume_ml:.4g} mL of the old {held} drug ({old.dose:.4g} {unit})"
    if old.peak_dose_per_hour is None or old.program_dose_per_hour is None:
        return f"{words}; the therapy is stopped, so nothing moves it until the program runs"
    until = ("" if old.flushed_min is None else
             f" for the next {duration(old.flushed_min * 60)} (until it has left the catheter)")
    return (f"{words}: the program now pushes it to the patient at up to {old.peak_dose_per_hour:.4g} {unit}/h{until}, "
            f"where the program's dose is {old.program_dose_per_hour:.4g} {unit}/h")

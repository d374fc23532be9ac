"""The commit of a reviewed write or refill, two-phase and audited, and the outcome as read back.

Only a review whose decision is to proceed is sent. The attempt is on disk before anything is sent, and the
outcome after (``programmer.audit_record``); a refused attempt is one outcome record. The pump's status is
read again just before writing, so a review left open while the pump changed is refused. What the session
reports is what the pump was read back to run, whatever the driver said.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable

from programmer.audit import AuditLog
from programmer.audit_record import Attempt
from programmer.dead_volume import BRIDGE_VOLUME_TOLERANCE_ML
from programmer.errors import LinkError, LinkNotSecure, PumpRefused
from programmer.outcome import Outcome
from programmer.port import (ActiveProgram, BolusOutcome, BridgeRequest, DemandSettings, PumpDriver, RefillOutcome,
                             WriteOutcome)
from programmer.program import Flex, Program
from programmer.refill import RefillReview
from programmer.review import Decision, Review, WriteReview, stopping_alarms
from programmer.roles import User
from programmer.snapshot import STOPPING_ALARMS, PumpSnapshot, describe_program

VOLUME_READBACK_TOLERANCE_ML = 0.001
"""The pump's reservoir right after a refill must equal the volume added, to the pump's precision."""


@dataclass(frozen=True)
class SessionResult:
    review: Review
    outcome: Outcome
    message: str
    active: ActiveProgram | None
    """The pump's program as last known: read back after the commit, or the snapshot's when nothing was sent."""
    refill: RefillOutcome | None = None
    audit_error: str | None = None
    """Set when the outcome could not be added to the audit log (the pump outcome above still holds)."""
    bolus_id: str | None = None
    """A bolus's idempotency id (``programmer.bolus_commit``), generated once and kept whatever the outcome: the one
    to ask the pump about (``bolus_status``) when the outcome is uncertain."""
    bolus: BolusOutcome | None = None
    """The bolus as the pump reported it (started, or found by ``bolus_status`` after a link failure)."""
    demand: DemandSettings | None = None
    """The demand dose as read back from the pump."""




def commit_write(driver: PumpDriver, review: WriteReview, user: User, audit: AuditLog) -> SessionResult:
    """Write the reviewed program (only if the decision is to proceed) and report what the pump now runs. A user whose
    role may not write is refused first (``PermissionRefused``, audited, nothing sent)."""
    attempt = Attempt(audit, review, user, driver.insecure_changes)
    previous = review.snapshot.active
    if review.decision is not Decision.PROCEED:
        return refused(attempt)
    attempt.begin()
    try:
        stale = _review_gone_stale(driver, review)
        if stale:
            return _finish(attempt, Outcome.REFUSED, f"{stale}: nothing was written; interrogate the pump and review "
                                  "the change again", previous)
        written = driver.write_program(review.program)
    except LinkNotSecure as exc:
        return _finish(attempt, Outcome.REFUSED, f"{exc}: nothing was written; the pump still runs the previous "
                              f"program {describe_program(previous)}", previous)
    except PumpRefused as exc:
        return _finish(attempt, Outcome.PUMP_REFUSED, f"{exc}: nothing was written; the pump still runs the previous "
                              f"program {describe_program(previous)}", previous)
    except LinkError as exc:
        # The port's contract: write_program raises for link faults only before staging began.
        return _finish(attempt, Outcome.UNCHANGED, f"the link failed before the program was sent ({exc}): the pump "
                              f"still runs the previous program {describe_program(previous)}", previous)
    outcome, message, active = _judge_write(written, review.program)
    if outcome is Outcome.VERIFIED:
        message += _not_delivering_note(review.snapshot)
    return _finish(attempt, outcome, message, active)


def _not_delivering_note(snapshot: PumpSnapshot, refill_added_ml: float = 0.0) -> str:
    """What a verified change still does not do: run, while a critical alarm stops delivery."""
    stopped_by = stopping_alarms(snapshot, refill_added_ml)
    if not stopped_by:
        return ""
    return (f"; but the pump is NOT DELIVERING (critical alarm {', '.join(stopped_by)}: "
            f"{'; '.join(STOPPING_ALARMS[code] for code in stopped_by)}): it will not run until that is resolved")


def _review_gone_stale(driver: PumpDriver, review: WriteReview) -> str | None:
    """Why the review no longer describes the pump (None when it still does), read just before writing.

    A review can stay open on a screen for a long time. If another programmer changed the pump meanwhile,
    the checks compared the change with a program that no longer runs; and the pump starts a new cycle's
    day 1 on the day it activates it, so a multi-day schedule reviewed yesterday would run a day late.
    """
    status = driver.read_status()
    then = review.snapshot.status
    if status.program_checksum != then.program_checksum:
        return (f"the pump's program changed since the review (it was {then.program_checksum}, it is now "
                f"{status.program_checksum})")
    program = review.program
    if (program is not None and isinstance(program.therapy, Flex) and program.therapy.cycle_days > 1
            and status.pump_time.date() != then.pump_time.date()):
        return (f"the pump's day changed since the review ({then.pump_time.date()} -> {status.pump_time.date()}): "
                f"day 1 of the {program.therapy.cycle_days}-day cycle starts on the day it is activated")
    return None


def _judge_write(outcome: WriteOutcome, asked: Program) -> tuple[Outcome, str, ActiveProgram | None]:
    """Map the driver's outcome to ours, trusting only what was read back (a VERIFIED whose read-back is not
    the asked program is a mismatch, whatever the driver says)."""
    active = outcome.active
    if active is None or outcome.status is Outcome.UNCERTAIN:
        return Outcome.UNCERTAIN, f"could not confirm which program the pump runs ({outcome.message}): interrogate it", None
    if outcome.status is Outcome.UNCHANGED:
        return Outcome.UNCHANGED, (f"the write failed ({outcome.message}): the pump still runs the previous program "
                                   f"{describe_program(active)}"), active
    if outcome.status is Outcome.VERIFIED and active.checksum == asked.checksum():
        return Outcome.VERIFIED, f"written and verified: the pump now runs {describe_program(active)}", active
    return Outcome.MISMATCH, (f"the pump reports {describe_program(active)}, not the requested {asked.checksum()} "
                              f"({outcome.message}): interrogate it and check the therapy"), active


def new_bolus_id(now: datetime | None = None) -> str:
    """A fresh bolus idempotency id: ``b-<YYYYmmddTHHMMSS>-<6 hex>`` (this computer's time and 24 random bits), made
    once per request before anything is sent (``programmer.bolus_commit``)."""
    moment = datetime.now() if now is None else now
    return f"b-{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def commit_refill(driver: PumpDriver, review: RefillReview, user: User, audit: AuditLog) -> SessionResult:
    """Record the refill on the pump (only if the decision is to proceed), then read it back and compare. A refill
    with a bridge sends the bridge bolus in the same action, under an id made here once and audited first."""
    key = None if review.bridge is None else new_bolus_id()
    if key is not None:
        review = review.with_bridge_id(key)
    attempt = Attempt(audit, review, user, driver.insecure_changes)
    request, previous = review.request, review.snapshot.active
    if review.decision is not Decision.PROCEED:
        return replace(refused(attempt), bolus_id=key)
    attempt.begin()
    bridge = None if review.bridge is None or key is None else BridgeRequest(key, review.bridge.volume_ml)

    def send() -> RefillOutcome:
        return driver.refill(attempt.attempt_id, request.withdrawn_ml, request.added_ml, review.new_drug, bridge)

    try:
        done = send()
    except LinkNotSecure as exc:
        return _finish(attempt, Outcome.REFUSED, f"{exc}: the refill was not recorded; the pump still runs "
                              f"{describe_program(previous)}", previous)
    except PumpRefused as exc:
        return _finish(attempt, Outcome.PUMP_REFUSED, f"{exc}: the refill was not recorded; the pump still runs "
                              f"{describe_program(previous)}", previous)
    except LinkError as exc:
        running = (f"; its program is unchanged either way: {describe_program(previous)}" if review.new_drug is None
                   else "; which program it runs depends on that")
        if key is None:
            return _finish(attempt, Outcome.UNCERTAIN, f"the link failed during the refill ({exc}): could not confirm "
                           f"whether the pump recorded it, interrogate it before refilling again{running}", None)
        settled = _settle_by_bridge(driver, attempt, key, exc, send)
        if isinstance(settled, SessionResult):
            return settled
        done = settled
    try:
        active = driver.read_program()
        status = driver.read_status()
    except (LinkError, PumpRefused) as exc:
        return _finish(attempt, Outcome.UNCERTAIN, f"the pump acknowledged the refill ({done.volume_ml:g} mL) but "
                              f"could not be read back ({exc}): interrogate it", None, done, key)
    assert review.program is not None, "a refill review always has the program the pump runs afterwards"
    expected = review.program.checksum()
    bridged = _bridge_problem(review, done)
    if (active.checksum == expected == status.program_checksum and bridged is None
            and abs(done.volume_ml - request.added_ml) <= VOLUME_READBACK_TOLERANCE_ML):
        started = "" if done.bridge is None else (f"; bridge bolus {done.bridge.bolus_id} started: "
                                                 f"{done.bridge.volume_ml:.4g} mL at the old concentration")
        return _finish(attempt, Outcome.VERIFIED, f"refilled and verified: reservoir {done.volume_ml:.4g} mL (the pump "
                              f"had calculated {done.calculated_ml:.4g} mL, {request.withdrawn_ml:g} mL withdrawn); "
                              f"the pump runs {describe_program(active)}{started}"
                              f"{_not_delivering_note(review.snapshot, request.added_ml)}", active, done, key)
    return _finish(attempt, Outcome.MISMATCH, f"after the refill the pump reports reservoir {done.volume_ml:.4g} mL "
                          f"(asked {request.added_ml:g} mL) and program {describe_program(active)} (expected "
                          f"{expected}){bridged or ''}: interrogate it and check the therapy", active, done, key)


def _settle_by_bridge(driver: PumpDriver, attempt: Attempt, key: str, failure: LinkError,
                      send: Callable[[], RefillOutcome]) -> SessionResult | RefillOutcome:
    """After a link failure during a refill with a bridge: the pump starts that bridge only with the refill, in one
    action, so ``bolus_status`` of its id (which never acts) says whether the refill was recorded. Not recorded:
    ``UNCHANGED``. Recorded: the same refill is sent again under its id, which the pump answers with the first
    refill's figures and does not act on (returned, for the read-back). Otherwise ``UNCERTAIN`` with the id."""
    previous = attempt.review.snapshot.active
    try:
        known = driver.bolus_status(key)
        if known is None:
            return _finish(attempt, Outcome.UNCHANGED, f"the link failed during the refill ({failure}); the pump knows "
                           f"no bridge bolus {key}, which it starts only with the refill: the refill was not recorded; "
                           f"the pump still runs {describe_program(previous)}", previous, bolus_id=key)
        return send()
    except (LinkError, PumpRefused) as exc:
        return _finish(attempt, Outcome.UNCERTAIN, f"the link failed during the refill ({failure}) and the pump could "
                       f"not say whether it recorded it ({exc}): ask it about bridge bolus {key}, which it starts only "
                       "with the refill (bolus status), and interrogate it before refilling again", None, bolus_id=key)


def _bridge_problem(review: RefillReview, done: RefillOutcome) -> str | None:
    """How the bridge the pump reports differs from the one sent with the refill (None: as sent, or none sent)."""
    asked = review.bridge
    if asked is None:
        return None
    started = done.bridge
    if started is None:
        return "; it reports no bridge bolus"
    if (started.bolus_id != asked.bolus_id or started.kind != "bridge"
            or abs(started.volume_ml - asked.volume_ml) > BRIDGE_VOLUME_TOLERANCE_ML * (1 + 1e-9)):
        return (f"; it reports bolus {started.bolus_id} ({started.kind}, {started.volume_ml:.4g} mL), not the bridge "
                f"{asked.bolus_id} of {asked.volume_ml:.4g} mL")
    return None


def refused(attempt: Attempt) -> SessionResult:
    """The outcome of a review that may not be sent: nothing was, and the record says why. A user whose role may
    not make the change is told that first (``Attempt.authorize``)."""
    attempt.authorize()
    review = attempt.review
    if review.decision is Decision.REFUSE:
        return _finish(attempt, Outcome.REFUSED, f"refused by {len(review.report.errors)} error(s): nothing was "
                       "sent to the pump", review.snapshot.active)
    return _finish(attempt, Outcome.NEEDS_OVERRIDE, f"{len(review.report.warnings)} warning(s) need an override "
                   "with a reason: nothing was sent to the pump", review.snapshot.active)


def _finish(attempt: Attempt, outcome: Outcome, message: str, active: ActiveProgram | None,
            refill: RefillOutcome | None = None, bolus_id: str | None = None) -> SessionResult:
    audit_error = attempt.finish(outcome, message, active, refill)
    bridge = None if refill is None else refill.bridge
    return SessionResult(attempt.review, outcome, message, active, refill, audit_error, bolus_id, bridge)

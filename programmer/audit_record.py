"""The audit record of a change: what is written to the audit log, before and after, and by whom.

Every commit is audited: an 'attempt' record is on disk before anything is sent (no record, nothing sent),
and an 'outcome' record after; a refused attempt is one outcome record. Who may commit is asked here, first
(``Attempt.authorize``, ``programmer.roles``): whichever front end called the commit, a role that may not make the
change is refused before anything is sent, and the refusal is on record like any other. The records name the
signed-in user (``user``, ``role``, and ``clinician``, the display name) and carry the program the pump ran before
(``old_program``), so a report can show before and after. The records' keys are documented in docs/cli.md (the
audit log).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from programmer.audit import AuditLog
from programmer.clock import iso
from programmer.errors import AuditError
from programmer.outcome import Outcome
from programmer.errors import PermissionRefused
from programmer.port import ActiveProgram, RefillOutcome
from programmer.review import Review
from programmer.roles import Permission, User, require, require_action, require_link


def user_fields(user: User) -> dict:
    """Who made the change, as every record names them: the display name (``clinician``), the account and its role."""
    return {"clinician": user.display_name, "user": user.username, "role": user.role.value}


def program_json(active: ActiveProgram | None) -> dict | None:
    """A program the pump runs as JSON: its drug, its therapy and its checksum (None: not known)."""
    if active is None:
        return None
    drug = None if active.drug is None else active.drug.model_dump(mode="json")
    return {"drug": drug, "therapy": active.therapy, "checksum": active.checksum}


def record_unreachable(audit: AuditLog, action: str, user: User, message: str) -> None:
    """Audit an attempt that ended before the pump could be interrogated: nothing was sent to it."""
    record_not_sent(audit, action, user, message, outcome=Outcome.UNCHANGED)


def record_not_sent(audit: AuditLog, action: str, user: User, message: str, pump_serial: str | None = None,
                    outcome: Outcome = Outcome.REFUSED) -> None:
    """Audit an attempt that ended before anything was sent and before it was reviewed: one outcome record (refused
    by default: the user's role, or the pump's patient)."""
    record_setting(audit, uuid.uuid4().hex, action, "outcome", user, pump_serial, outcome, message)


def record_setting(audit: AuditLog, attempt_id: str, action: str, event: str, user: User, pump_serial: str | None,
                   outcome: Outcome | None = None, message: str | None = None, **details: object) -> None:
    """One record of a change that is not reviewed like a program (the low-reservoir alarm, the clock): its
    ``attempt`` before it is sent, its ``outcome`` after, sharing ``attempt_id``; ``details`` are its figures."""
    audit.append({
        "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
        "attempt_id": attempt_id,
        "action": action,
        "event": event,
        **user_fields(user),
        "pump_serial": pump_serial,
        "outcome": None if outcome is None else outcome.value,
        "message": message,
        **details,
    })


class Attempt:
    """One audited attempt by a signed-in user: an 'attempt' record before anything is sent, an 'outcome' record
    after; a user whose role may not make the change gets one refused 'outcome' record and ``PermissionRefused``.
    ``insecure_link``: the change would be sent over a link that is not encrypted (``PumpDriver.insecure_changes``),
    which needs its own permission too."""

    def __init__(self, audit: AuditLog, review: Review, user: User, insecure_link: bool = False):
        self.audit = audit
        self.review = review
        self.user = user
        self.insecure_link = insecure_link
        self.attempt_id = uuid.uuid4().hex

    def authorize(self) -> None:
        """Raises ``PermissionRefused`` (recorded as a refused outcome first) when the user's role may not make this
        change, may not override the soft limits the review overrides, or may not use the insecure link it would be
        sent over; nothing has been sent."""
        review = self.review
        try:
            require_action(self.user, review.action)
            if review.report.warnings and review.override_reason is not None:
                require(self.user, Permission.OVERRIDE)
            require_link(self.user, self.insecure_link)
        except PermissionRefused as exc:
            self.audit.append(self._record("outcome") | {"outcome": Outcome.REFUSED.value,
                                                         "message": f"{exc}: nothing was sent to the pump",
                                                         "active_checksum": review.snapshot.active.checksum})
            raise

    def begin(self) -> None:
        """``authorize``, then record the attempt. Raises PermissionRefused or AuditError: then nothing may be
        sent."""
        self.authorize()
        self.audit.append(self._record("attempt"))

    def finish(self, outcome: Outcome, message: str, active: ActiveProgram | None,
               refill: RefillOutcome | None = None, pump_reported: dict | None = None) -> str | None:
        """Record the outcome (``pump_reported``: what the pump answered about a bolus or a demand dose). Returns None,
        or why the record could not be written: the pump's outcome holds either way, so the caller reports both rather
        than raising over a change that happened."""
        record = self._record("outcome") | {
            "outcome": outcome.value,
            "message": message,
            "active_checksum": None if active is None else active.checksum,
        }
        if pump_reported is not None:
            record["pump_reported"] = pump_reported
        if refill is not None:
            record["refill"] |= {"volume_ml": refill.volume_ml, "pump_calculated_ml": refill.calculated_ml,
                                 "repeated": refill.repeated}
        try:
            self.audit.append(record)
        except AuditError as exc:
            return str(exc)
        return None

    def _record(self, event: str) -> dict:
        review = self.review
        snapshot = review.snapshot
        return {
            "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
            "attempt_id": self.attempt_id,
            "action": review.action,
            "event": event,
            **user_fields(self.user),
            "pump_serial": snapshot.identity.serial,
            "pump_model": snapshot.identity.model,
            "pump_time": iso(snapshot.status.pump_time),
            "low_alarm_ml": snapshot.status.low_alarm_ml,
            "old_checksum": snapshot.active.checksum,
            "old_program": program_json(snapshot.active),
            "new_checksum": None if review.program is None else review.program.checksum(),
            "findings": [finding.as_dict() for finding in review.report.findings],
            "override_reason": review.override_reason,
            "library": review.audit_library(),
            "outcome": None,
        } | review.audit_details()

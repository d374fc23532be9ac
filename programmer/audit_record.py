"""The audit record of a write or refill: what is written to the audit log, before and after.

Every commit is audited: an 'attempt' record is on disk before anything is sent (no record, nothing sent),
and an 'outcome' record after; a refused attempt is one outcome record. The records' keys are documented
in docs/cli.md (the audit log).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from programmer.audit import AuditLog
from programmer.clock import iso
from programmer.errors import AuditError
from programmer.outcome import Outcome
from programmer.port import ActiveProgram, RefillOutcome
from programmer.review import Review, clean_clinician

def record_unreachable(audit: AuditLog, action: str, clinician: str, message: str) -> None:
    """Audit an attempt that ended before the pump could be interrogated: nothing was sent to it."""
    audit.append({
        "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
        "attempt_id": uuid.uuid4().hex,
        "action": action,
        "event": "outcome",
        "clinician": clean_clinician(clinician),
        "pump_serial": None,
        "outcome": Outcome.UNCHANGED.value,
        "message": message,
    })


class Attempt:
    """One audited attempt: an 'attempt' record before anything is sent, an 'outcome' record after."""

    def __init__(self, audit: AuditLog, review: Review, clinician: str):
        self.audit = audit
        self.review = review
        self.clinician = clinician
        self.attempt_id = uuid.uuid4().hex

    def begin(self) -> None:
        """Raises AuditError if the attempt cannot be recorded: then nothing may be sent."""
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
            "clinician": self.clinician,
            "pump_serial": snapshot.identity.serial,
            "pump_model": snapshot.identity.model,
            "pump_time": iso(snapshot.status.pump_time),
            "old_checksum": snapshot.active.checksum,
            "new_checksum": None if review.program is None else review.program.checksum(),
            "findings": [finding.as_dict() for finding in review.report.findings],
            "override_reason": review.override_reason,
            "library": review.audit_library(),
            "outcome": None,
        } | review.audit_details()

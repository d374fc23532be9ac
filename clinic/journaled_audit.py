"""The audit log of a visit: every record goes to the local journal first (the crash-safe JSON-lines file), then to
the clinic store's hash chain; and every attempt to change a pump meets the visit's hard stop first.

Why the journal first and must succeed: nothing may be sent to a pump without its attempt on disk, and the local
disk is what is there when the clinic's server is not. The store may fail (a network, a locked file): the record
then waits in the journal and is added at the next reconcile (a new ``Visit``, ``pump-programmer audit reconcile``),
by its ``record_id``, once. The failure is logged without patient data.

Why the hard stop is here: every commit, from the command line and the application alike, writes its ``attempt``
record before it sends anything (``programmer.audit_record.Attempt``). Checking the pump against the visit's patient
at that write means no commit path can go round it. A refused attempt leaves a refused ``outcome`` record.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from clinic.errors import RecordMismatch, UnknownPump, WrongPatient, WrongPump
from clinic.store import Store
from programmer.audit import AUDIT_FORMAT, AuditLog
from programmer.errors import ProgrammerError

if TYPE_CHECKING:
    from clinic.visit import Visit

log = logging.getLogger(__name__)


class JournaledAudit(AuditLog):
    """``AuditLog`` for one visit: stamps each record with its ``record_id``, the visit's ``session_id``, the
    signed-in ``user`` (username) and ``role``, and the visit's ``patient`` (identifier or None)."""

    def __init__(self, path: str | os.PathLike, store: Store, visit: Visit):
        super().__init__(path)
        self.store = store
        self.visit = visit
        self.last_outcome_id: str | None = None
        """The ``record_id`` of the last ``outcome`` record written: the dose history's link to its audit record."""

    def append(self, record: Mapping[str, object]) -> None:
        """Raises AuditError when the journal cannot be written, and WrongPatient or UnknownPump (after writing a
        refused outcome) for an attempt on a pump the visit may not change; never for the store."""
        stamped = self._stamp(record)
        if stamped.get("event") == "attempt":
            try:
                self.visit.require_change_allowed(str(stamped.get("pump_serial") or ""))
            except (WrongPatient, UnknownPump, WrongPump, RecordMismatch) as refusal:
                self._write(self._stamp({key: stamped[key] for key in ("attempt_id", "action", "clinician",
                                                                        "pump_serial", "pump_model") if key in stamped}
                                        | {"time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
                                           "event": "outcome", "outcome": "refused", "message": str(refusal)}))
                raise
        self._write(stamped)

    def _stamp(self, record: Mapping[str, object]) -> dict[str, object]:
        visit = self.visit
        return {"format": AUDIT_FORMAT, "record_id": uuid.uuid4().hex, **record, "session_id": visit.session_id,
                "user": visit.user.username, "role": visit.user.role.value,
                "patient": None if visit.patient is None else visit.patient.identifier}

    def _write(self, record: dict[str, object]) -> None:
        super().append(record)
        if record.get("event") == "outcome":
            self.last_outcome_id = str(record["record_id"])
        try:
            self.store.audit.append(record)
        except (SQLAlchemyError, ProgrammerError, OSError) as exc:
            log.warning("audit record %s is in the journal %s but not in the clinic database %s (%s): it is added at "
                        "the next reconcile", record["record_id"], self.path, self.store.url, type(exc).__name__)

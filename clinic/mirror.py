"""The authorising tables mirrored in the audit chain: every change to users, tokens, patients, implants, catheter
revisions, sessions and the dose history appends a record saying what the row now is, in the same transaction as the
change.

Why: roles, tokens and pump bindings are read from plain rows that anyone able to write the database can edit (a
technician's role set to clinician, a token row inserted by hand, a pump moved to another patient, a previous daily
dose the first-program check compares with raised in the dose history). The chain covers
what was written, so each row a decision rests on is checked against its latest record before it is trusted; a row
the chain does not confirm is refused (``RecordMismatch``) and ``AuditTrail.verify`` reports it. A mirror record's
``record_id`` is the SHA-256 of what it is about (``table``, key, kind), so that check is one indexed lookup and
never a walk of the chain. What this cannot catch: someone who rewrites the table, the records and every hash after
them (docs/clinic-store.md: the head hash printed on a report is the anchor for that).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from clinic.clock import utc_now
from clinic.errors import RecordMismatch
from clinic.models import AuditRow, CatheterRevisionRow, DoseRow, ImplantRow, PatientRow, SessionRow, TokenRow, UserRow

MIRROR_FORMAT = "itb-clinic-record/1"
MIRROR_EVENT = "clinic"


def mirror_id(*parts: str) -> str:
    """The ``record_id`` of the mirror record about ``parts`` (kind, key...): 64 hex digits."""
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def password_digest(password_hash: str) -> str:
    """What the chain keeps of a password hash: its SHA-256 (enough to tell an edited hash)."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()


def mirror(session: Session, action: str, by: str | None, record_id: str | None, **fields: object) -> None:
    """Append the mirror record of a change in ``session`` (the change's own transaction)."""
    from clinic.audit_trail import append_in  # audit_trail imports this module's checks

    record = {"format": MIRROR_FORMAT, "record_id": record_id or uuid.uuid4().hex, "event": MIRROR_EVENT,
              "action": action, "user": by, "time": utc_now().isoformat(timespec="microseconds"),
              **{key: _plain(value) for key, value in fields.items()}}
    append_in(session, record)


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _record(session: Session, record_id: str) -> tuple[int, dict] | None:
    found = session.execute(select(AuditRow.seq, AuditRow.body).where(AuditRow.record_id == record_id)).first()
    if found is None:
        return None
    try:
        body = json.loads(found[1])
    except ValueError:
        return found[0], {}
    return (found[0], body) if isinstance(body, dict) else (found[0], {})


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def user_problem(session: Session, row: UserRow) -> tuple[int | None, str] | None:
    """What the chain says against the users row (None: it confirms it), with the seq of the record concerned."""
    added = _record(session, mirror_id("user", row.username))
    if added is None:
        return None, f"no audit record added the user {row.username}"
    seq, body = added
    for key, value in (("display_name", row.display_name), ("role", row.role),
                       ("password", password_digest(row.password_hash))):
        if body.get(key) != value:
            return seq, f"the user {row.username}'s {key} is not the one the audit trail recorded"
    disabled = _record(session, mirror_id("user-disabled", row.username))
    if (disabled is None) != (row.disabled_at is None):
        return (None if disabled is None else disabled[0]), (
            f"the user {row.username} is {'active' if row.disabled_at is None else 'disabled'} in the table, "
            f"{'disabled' if disabled is not None else 'active'} in the audit trail")
    return None


def token_problem(session: Session, token: TokenRow, username: str, *,
                  shortened_ok: bool = False) -> tuple[int | None, str] | None:
    """``shortened_ok``: an expiry earlier than the one recorded is no problem (it can only refuse sooner; signing
    in then says the token expired), as when a token is checked to sign someone in."""
    issued = _record(session, mirror_id("token", token.token_hash))
    what = f"the token {token.token_hash[:12]}... of {username}"
    if issued is None:
        return None, f"no audit record issued {what}"
    seq, body = issued
    recorded = _when(body.get("expires_at"))
    later = recorded is None or (token.expires_at > recorded if shortened_ok else token.expires_at != recorded)
    if body.get("subject") != username or later:
        return seq, f"{what} is not for the user or the time the audit trail recorded"
    revoked = _record(session, mirror_id("token-revoked", token.token_hash))
    if (revoked is None) != (token.revoked_at is None):
        return seq, f"{what} is {'valid' if token.revoked_at is None else 'revoked'} in the table, not in the trail"
    return None


def patient_problem(session: Session, row: PatientRow) -> tuple[int | None, str] | None:
    added = _record(session, mirror_id("patient", row.identifier))
    if added is None:
        return None, f"no audit record added the patient {row.identifier}"
    seq, body = added
    if body.get("name") != row.name or body.get("birth_date") != row.birth_date.isoformat():
        return seq, f"the patient {row.identifier}'s name or birth date is not the one the audit trail recorded"
    return None


def implant_problem(session: Session, row: ImplantRow) -> tuple[int | None, str] | None:
    bound = _record(session, mirror_id("implant", row.pump_serial))
    if bound is None:
        return None, f"no audit record bound the pump {row.pump_serial} to a patient"
    seq, body = bound
    patient = session.get(PatientRow, row.patient_id)
    if (patient is None or body.get("patient") != patient.identifier or body.get("pump_model") != row.pump_model
            or body.get("implanted_on") != row.implanted_on.isoformat()):
        return seq, (f"the pump {row.pump_serial}'s patient, model or implant date is not the one the audit trail "
                     "recorded")
    explanted = _record(session, mirror_id("implant-explanted", row.pump_serial))
    recorded = None if explanted is None else explanted[1].get("explanted_on")
    if recorded != (None if row.explanted_on is None else row.explanted_on.isoformat()):
        return seq, f"the pump {row.pump_serial}'s explant date is not the one the audit trail recorded"
    catheter = body.get("catheter_cm")
    revisions = session.scalars(select(CatheterRevisionRow).where(CatheterRevisionRow.implant_id == row.id)
                                .order_by(CatheterRevisionRow.id))
    for revision in revisions:
        revised = _record(session, mirror_id("catheter", row.pump_serial, str(revision.id)))
        if revised is None or (revised[1].get("catheter_cm"), revised[1].get("revised_on"), revised[1].get("note")) \
                != (revision.catheter_cm, revision.revised_on.isoformat(), revision.note):
            return seq, f"a catheter revision of the pump {row.pump_serial} is not the one the audit trail recorded"
        catheter = revision.catheter_cm
    if catheter != row.catheter_cm:
        return seq, f"the pump {row.pump_serial}'s catheter length is not the one the audit trail recorded"
    return None


def session_problem(session: Session, row: SessionRow) -> tuple[int | None, str] | None:
    started = _record(session, mirror_id("session", row.id))
    if started is None:
        return None, f"no audit record started the session {row.id}"
    seq, body = started
    if body.get("subject") != row.username or body.get("workstation") != row.workstation:
        return seq, f"the session {row.id}'s user or workstation is not the one the audit trail recorded"
    patient = None if row.patient_id is None else session.get(PatientRow, row.patient_id)
    identifier = None if patient is None else patient.identifier
    if identifier is None and row.pump_serial is None:
        return None
    if _record(session, mirror_id("session-attached", row.id, identifier or "", row.pump_serial or "")) is None:
        return seq, f"the session {row.id}'s patient or pump is not the one the audit trail recorded"
    return None


DOSE_FIGURES = ("kind", "drug", "dose_unit", "concentration", "daily_dose", "volume_ml", "dose", "reservoir_ml")
"""The dose history's columns a mirror record holds under their own names."""


def dose_fields(row: DoseRow, identifier: str) -> dict[str, object]:
    """What a ``dose_recorded`` record says of a dose history row: everything in it but its id."""
    return {"patient": identifier, "pump_serial": row.pump_serial, "visit": row.session_id, "at": row.time,
            "entered_by": row.username, "outcome_record": row.audit_record_id,
            **{name: getattr(row, name) for name in DOSE_FIGURES}}


def dose_problem(session: Session, row: DoseRow) -> tuple[int | None, str] | None:
    recorded = _record(session, mirror_id("dose", str(row.id)))
    if recorded is None:
        return None, f"no audit record recorded the dose history entry {row.id}"
    seq, body = recorded
    patient = session.get(PatientRow, row.patient_id)
    expected = _plain_fields(dose_fields(row, "" if patient is None else patient.identifier))
    differing = [name for name, value in expected.items() if name != "at" and body.get(name) != value]
    if _when(body.get("at")) != row.time:
        differing.append("time")
    if differing:
        return seq, (f"the dose history entry {row.id} ({row.kind} of {row.time.date().isoformat()})'s "
                     f"{', '.join(differing)} is not what the audit trail recorded")
    return None


def doses_problem(session: Session, rows: list[DoseRow], identifier: str | None) -> tuple[int | None, str] | None:
    """What the chain says against a set of dose history rows: ``rows``, every row of the patient ``identifier`` (or of
    every patient: None). Each row must be its record's, and each ``dose_recorded`` record must still have its row: a
    row deleted would change the previous daily dose the first-program check compares with."""
    for row in rows:
        found = dose_problem(session, row)
        if found is not None:
            return found
    query = select(AuditRow.seq, AuditRow.record_id).where(AuditRow.action == "dose_recorded",
                                                           AuditRow.event == MIRROR_EVENT)
    if identifier is not None:
        query = query.where(AuditRow.patient_identifier == identifier)
    present = {mirror_id("dose", str(row.id)) for row in rows}
    for seq, record_id in session.execute(query.order_by(AuditRow.seq)):
        if record_id not in present:
            return seq, f"the dose history entry recorded by audit record {seq} is not in the table"
    return None


def _plain_fields(fields: dict[str, object]) -> dict[str, object]:
    return {key: _plain(value) for key, value in fields.items()}


def require_confirmed(table: str, problem: tuple[int | None, str] | None) -> None:
    """Raise RecordMismatch when the chain does not confirm a row read to decide something."""
    if problem is not None:
        raise RecordMismatch(table, problem[1])


def table_problems(session: Session) -> tuple[str, int | None, str] | None:
    """The first row of an authorising table the chain does not confirm: (table, seq, what), or None."""
    usernames = {}
    for user in session.scalars(select(UserRow).order_by(UserRow.id)):
        usernames[user.id] = user.username
        found = user_problem(session, user)
        if found is not None:
            return "users", *found
    for token in session.scalars(select(TokenRow).order_by(TokenRow.id)):
        found = token_problem(session, token, usernames.get(token.user_id, "?"))
        if found is not None:
            return "tokens", *found
    for patient in session.scalars(select(PatientRow).order_by(PatientRow.id)):
        found = patient_problem(session, patient)
        if found is not None:
            return "patients", *found
    for implant in session.scalars(select(ImplantRow).order_by(ImplantRow.id)):
        found = implant_problem(session, implant)
        if found is not None:
            return "implants", *found
    for visit in session.scalars(select(SessionRow).order_by(SessionRow.started_at, SessionRow.id)):
        found = session_problem(session, visit)
        if found is not None:
            return "sessions", *found
    found = doses_problem(session, list(session.scalars(select(DoseRow).order_by(DoseRow.id))), None)
    if found is not None:
        return "dose_history", *found
    return None


def describe(table: str, what: str) -> str:
    return f"the clinic record's {table} table disagrees with its audit trail: {what}"



def adopt(session: Session) -> int:
    """Append a mirror record (marked ``"adopted"``) for every row that has none: the rows a database had when it was
    upgraded to the revision that began mirroring them (0003; 0004 for the dose history). How many records were
    appended. The record keys (0004) are not read: at 0003 their columns are not there yet."""
    def missing(*parts: str) -> bool:
        return _record(session, mirror_id(*parts)) is None

    appended = 0

    def add(action: str, by: str | None, parts: tuple[str, ...] | None, **fields: object) -> None:
        nonlocal appended
        mirror(session, action, by, None if parts is None else mirror_id(*parts), adopted=True, **fields)
        appended += 1

    usernames = {}
    for user in session.scalars(select(UserRow).options(defer(UserRow.username_key)).order_by(UserRow.id)):
        usernames[user.id] = user.username
        if missing("user", user.username):
            add("user_added", user.username, ("user", user.username), subject=user.username,
                display_name=user.display_name, role=user.role, password=password_digest(user.password_hash))
        if user.disabled_at is not None and missing("user-disabled", user.username):
            add("user_disabled", None, ("user-disabled", user.username), subject=user.username,
                disabled_at=user.disabled_at)
    for token in session.scalars(select(TokenRow).order_by(TokenRow.id)):
        username = usernames.get(token.user_id)
        if missing("token", token.token_hash):
            add("token_issued", username, ("token", token.token_hash), subject=username, token_hash=token.token_hash,
                expires_at=token.expires_at)
        if token.revoked_at is not None and missing("token-revoked", token.token_hash):
            add("token_revoked", username, ("token-revoked", token.token_hash), subject=username,
                token_hash=token.token_hash, revoked_at=token.revoked_at)
    identifiers = {}
    patients = select(PatientRow).options(defer(PatientRow.identifier_key)).order_by(PatientRow.id)
    for patient in session.scalars(patients):
        identifiers[patient.id] = patient.identifier
        if missing("patient", patient.identifier):
            add("patient_added", None, ("patient", patient.identifier), patient_id=patient.identifier,
                name=patient.name, birth_date=patient.birth_date)
    for implant in session.scalars(select(ImplantRow).order_by(ImplantRow.id)):
        revisions = list(session.scalars(select(CatheterRevisionRow).where(CatheterRevisionRow.implant_id == implant.id)
                                         .order_by(CatheterRevisionRow.id)))
        if missing("implant", implant.pump_serial):
            add("pump_bound", None, ("implant", implant.pump_serial), patient=identifiers.get(implant.patient_id),
                pump_serial=implant.pump_serial, pump_model=implant.pump_model, implanted_on=implant.implanted_on,
                catheter_cm=implant.catheter_cm if not revisions else None)
        if implant.explanted_on is not None and missing("implant-explanted", implant.pump_serial):
            add("pump_explanted", None, ("implant-explanted", implant.pump_serial), pump_serial=implant.pump_serial,
                explanted_on=implant.explanted_on)
        for revision in revisions:
            if missing("catheter", implant.pump_serial, str(revision.id)):
                add("catheter_revised", None, ("catheter", implant.pump_serial, str(revision.id)),
                    pump_serial=implant.pump_serial, revised_on=revision.revised_on, catheter_cm=revision.catheter_cm,
                    note=revision.note)
    for row in session.scalars(select(SessionRow).order_by(SessionRow.started_at, SessionRow.id)):
        if missing("session", row.id):
            add("session_started", row.username, ("session", row.id), subject=row.username,
                workstation=row.workstation, started_at=row.started_at, visit=row.id)
        patient_identifier = identifiers.get(row.patient_id) if row.patient_id is not None else None
        attached = ("session-attached", row.id, patient_identifier or "", row.pump_serial or "")
        if (patient_identifier or row.pump_serial) and missing(*attached):
            add("session_attached", row.username, attached, visit=row.id, patient_id=patient_identifier,
                pump=row.pump_serial)
    for dose in session.scalars(select(DoseRow).order_by(DoseRow.id)):
        if missing("dose", str(dose.id)):
            add("dose_recorded", dose.username, ("dose", str(dose.id)),
                **dose_fields(dose, identifiers.get(dose.patient_id, "")))
    return appended

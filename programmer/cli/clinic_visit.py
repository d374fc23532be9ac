"""A pump command's visit: the signed-in user, the patient the pump is bound to, the session its records share, and
the hard stop before anything is sent to a pump of another patient.

Why every changing command opens one (``clinic.visit.Visit``): the audit records of a change must say for which
patient it was made, and a pump must never be changed for the wrong patient. The pump's serial is matched against
the clinic record after the pump is read and before anything is sent: ``--patient ID`` chooses the patient (an
unknown pump is bound to them as a new implant; a pump bound to another patient is refused, exit code 3, and the
refusal is audited); without it a pump bound to a patient is that patient's, and an unknown one is refused when a
change is attempted (the visit's audit refuses the attempt record, ``clinic.journaled_audit``). ``--session ID``
continues a visit started by an earlier command, so several commands make one session (one report); without it each
command is a session of its own. A verified change goes to the patient's dose history (``Visit.record``).
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from programmer.audit import default_audit_path
from programmer.audit_record import record_not_sent
from programmer.cli.sign_in import LOGIN, check_clinician, clinic
from programmer.commit import SessionResult
from programmer.errors import PermissionRefused
from programmer.roles import User, require_action, require_link

if TYPE_CHECKING:
    from clinic.journaled_audit import JournaledAudit
    from clinic.patients import Patient
    from clinic.visit import Visit


def add_visit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patient", metavar="ID", help="the patient (the clinic's identifier) the pump is for: an "
                        "unknown pump is bound to them as a new implant; a pump bound to another patient is refused")
    add_replaces_option(parser)
    parser.add_argument("--session", metavar="ID", help="continue the session (visit) an earlier command printed, so "
                        "its records are one visit's")


def add_replaces_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replaces", metavar="SERIAL", help="with --patient, for a new pump of a patient who has one "
                        "implanted: the serial of that pump, which is then recorded as explanted (a replacement)")


def replacement_hint(exc: Exception) -> str:
    """What to type when the store refused a new pump because the patient has one implanted (``WrongPump``)."""
    return " (give its serial with --replaces SERIAL)" if "as the pump replaced" in str(exc) else ""


def journal_path(args: argparse.Namespace) -> str:
    return str(getattr(args, "audit_log", None) or default_audit_path())


def open_visit(args: argparse.Namespace, user: User) -> "Visit":
    """The command's visit, on the clinic database, with the audit log as its journal. ``--session ID`` continues
    the signed-in user's own session ID, with its patient (another user's is refused, exit code 3; an unknown one is
    exit code 2)."""
    from clinic.visit import Visit

    visit = Visit(clinic(args), user, Path(journal_path(args)), session_id=getattr(args, "session", None))
    args.visit = visit
    return visit


def reading_session(args: argparse.Namespace, user: User, serial: str) -> tuple[str, "Patient | None"]:
    """A session for a reading (``interrogate``): the pump's patient, when it is bound to one, is the session's, so a
    change that follows with ``--session`` continues it. A reading writes no audit record, so it needs no journal."""
    sessions, patients = clinic(args).sessions, clinic(args).patients
    session = sessions.start(user, socket.gethostname())
    patient = patients.patient_for_pump(serial)
    if patient is not None:
        sessions.attach(session, patient.identifier, serial)
    sessions.end(session)
    return session, patient


def authorized(audit: "JournaledAudit", action: str, user: User, insecure_link: bool = False) -> None:
    """Refuse (exit code 3, audited, before a pump is contacted) a user whose role may not make this change, or, with
    ``insecure_link`` (``--allow-insecure-link``), may not send it over a link that is not encrypted (a tester's
    permission alone: anyone on such a link can read and alter what is sent)."""
    try:
        require_action(user, action)
        require_link(user, insecure_link)
    except PermissionRefused as exc:
        message = f"{exc}; sign in as someone who may, with {LOGIN}; nothing was sent to the pump"
        record_not_sent(audit, action, user, message)
        raise PermissionRefused(message, step=exc.step) from None


def clinician_checked(args: argparse.Namespace, audit: "JournaledAudit", action: str, user: User) -> None:
    """``--clinician`` must name the signed-in user (``sign_in.check_clinician``); a refusal is audited, naming the
    signed-in user and the name given, before a pump is contacted."""
    try:
        check_clinician(args, user)
    except PermissionRefused as exc:
        record_not_sent(audit, action, user, str(exc))
        raise


def match_patient(args: argparse.Namespace, action: str, serial: str, model: str,
                  catheter_cm: float | None = None) -> None:
    """After the pump is read, before anything is sent: ``--patient`` chooses the patient (binding an unknown pump);
    without it, a pump bound to a patient is theirs. A pump bound to another patient is refused and audited."""
    from clinic.errors import WrongPatient, WrongPump

    visit = args.visit
    if getattr(args, "patient", None) is None:
        visit.match_pump(serial)
        return
    try:
        visit.choose_patient(args.patient, serial, model, catheter_cm=catheter_cm,
                             replaces=getattr(args, "replaces", None))
    except WrongPatient as exc:
        hint = replacement_hint(exc)
        record_not_sent(visit.audit, action, visit.user, f"{exc}{hint}; nothing was sent to the pump", serial)
        if hint:
            raise WrongPump(f"{exc}{hint}") from None
        raise


def record(args: argparse.Namespace, result: SessionResult) -> None:
    """A verified change into the patient's dose history (the visit decides what counts)."""
    visit = getattr(args, "visit", None)
    if visit is not None:
        visit.record(result)


def session_id(args: argparse.Namespace) -> str | None:
    visit = getattr(args, "visit", None)
    return None if visit is None else visit.session_id

"""``pump-programmer report`` and ``sessions``: a visit's report for the patient's chart (PDF) and for the hospital's
record (FHIR), and the list of visits to pick one from.

Why from the clinic database and not from what a command printed: a report is filed, and must say what the audit
trail proves happened at the visit (``clinic.session_report``), whichever workstation, command or window made the
changes; the chain's head printed on it ties the paper to the trail. Exporting is a permission of its own
(``EXPORT``): a technician may print a report, as a clinician may. The PDF is drawn by the application's own Qt
(``ui.report_pdf``), imported only when this command runs: no other command loads Qt.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from programmer.cli.sign_in import add_store_options, clinic, signed_in
from programmer.cli.support import EXIT_OK
from programmer.errors import InputError
from programmer.roles import Permission


def add_report_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``report`` and ``sessions``."""
    report = subparsers.add_parser("report", help="a session's report: a PDF for the chart, and a FHIR bundle")
    report.add_argument("session", metavar="SESSION", help="the session's id (pump-programmer sessions lists them)")
    report.add_argument("--pdf", required=True, metavar="FILE", help="write the report to FILE as a PDF (A4)")
    report.add_argument("--fhir", metavar="FILE", help="also write the session as a FHIR R4B bundle, JSON, to FILE")
    add_store_options(report, argparse.SUPPRESS)
    report.set_defaults(handler=run_report)

    sessions = subparsers.add_parser("sessions", help="the sessions (visits) in the clinic database, oldest first")
    sessions.add_argument("--patient", metavar="ID", help="only this patient's sessions")
    sessions.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_options(sessions, argparse.SUPPRESS)
    sessions.set_defaults(handler=run_sessions)


def run_report(args: argparse.Namespace) -> int:
    from clinic.fhir_bundle import fhir_bundle
    from clinic.session_report import build_session_report
    from programmer.clock import iso

    signed_in(args, Permission.EXPORT)
    report = build_session_report(clinic(args), args.session)
    pdf = _writable(args.pdf, "--pdf")
    fhir = None if args.fhir is None else _writable(args.fhir, "--fhir")
    from ui.report_pdf import write_report_pdf  # Qt, loaded by this command only

    write_report_pdf(report, pdf)
    patient = report.patient
    who = "no patient recorded" if patient is None else f"{patient.name}, {patient.identifier}"
    due = "not known" if report.refill_by is None else f"{iso(report.refill_by.at)} (pump clock)"
    print(f"Session       {report.session.session_id} ({who}; pump {report.pump_model} {report.pump_serial})")
    print(f"Actions       {len(report.actions)}; refill by {due}")
    print(f"wrote {pdf}")
    if fhir is not None:
        bundle = fhir_bundle(report)
        with open(fhir, "w", encoding="utf-8", opener=_private) as out:  # the patient's name and birth date: 0600
            out.write(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")
        os.chmod(fhir, 0o600)
        print(f"wrote {fhir} (FHIR R4B bundle, {len(bundle['entry'])} resources)")
    return EXIT_OK


def _writable(given: str, option: str) -> Path:
    """The output file, checked before anything is drawn: a file that cannot be written is invalid input naming the
    option."""
    path = Path(given)
    try:
        with open(path, "ab", opener=_private):
            pass
        os.chmod(path, 0o600)
    except OSError as exc:
        raise InputError([(option, f"cannot write {path}: {exc.strerror or exc}")], step="write the report") from None
    return path


def _private(path: str, flags: int) -> int:
    """Open a report file readable by its owner only (0600): it names the patient and their birth date."""
    return os.open(path, flags, 0o600)


def run_sessions(args: argparse.Namespace) -> int:
    signed_in(args, Permission.EXPORT)
    store = clinic(args)
    if args.patient is not None:
        store.patients.get(args.patient)  # UnknownPatient (exit 2) naming the identifier, not an empty list
    found = store.sessions.list(patient=args.patient)
    if args.json:
        print(json.dumps({"sessions": [{
            "session_id": info.id, "started_at": info.started_at.isoformat(),
            "ended_at": None if info.ended_at is None else info.ended_at.isoformat(), "username": info.username,
            "workstation": info.workstation, "patient": info.patient_identifier, "pump_serial": info.pump_serial,
        } for info in found]}, indent=2))
        return EXIT_OK
    for info in found:
        started = info.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
        print(f"{info.id}  {started}  {info.username:<12} {info.patient_identifier or '-':<14} "
              f"{info.pump_serial or '-'}")
    return EXIT_OK

"""``pump-programmer patient``: the clinic's patients, their implanted pumps and their dose history.

Why at the command line: a pump is changed only for the patient it is bound to (``clinic_visit``), so a clinic
records its patients (``patient add``), binds each implanted pump to one (``patient bind``, or ``--patient`` on the
first change), and reads back what was given (``patient show``: implants, catheter revisions, every verified
program, refill and bolus). The records live in the clinic database (``clinic.patients``); this module parses,
prints and leaves every failure to ``main``'s one handler.
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from commandline import finite
from programmer.cli.clinic_visit import add_replaces_option, open_visit, replacement_hint
from programmer.cli.sign_in import add_store_options, clinic, signed_in
from programmer.cli.support import EXIT_OK
from programmer.dead_volume import CATHETER_CM_RANGE
from programmer.errors import InputError
from programmer.roles import Permission


def add_patient_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``patient`` with its commands ``add``, ``list``, ``show`` and ``bind``."""
    from programmer.cli.pump_commands import add_port

    patient = subparsers.add_parser("patient", help="the clinic's patients, their pumps and their dose history")
    commands = patient.add_subparsers(dest="patient_command", required=True,
                                      metavar="{add,list,show,bind,revise-catheter}",
                                      parser_class=type(patient))

    add = commands.add_parser("add", help="record a patient")
    add.add_argument("--id", required=True, metavar="ID", dest="identifier",
                     help="the clinic's identifier for the patient (the medical record number)")
    add.add_argument("--name", required=True, metavar="NAME", help="the patient's name")
    add.add_argument("--born", required=True, type=_date, metavar="YYYY-MM-DD", help="the date of birth")
    add_store_options(add, argparse.SUPPRESS)
    add.set_defaults(handler=run_patient_add)

    listing = commands.add_parser("list", help="list the patients, or those whose identifier or name holds TEXT")
    listing.add_argument("--search", metavar="TEXT", default="", help="only patients whose identifier or name "
                         "holds TEXT (any case)")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_options(listing, argparse.SUPPRESS)
    listing.set_defaults(handler=run_patient_list)

    show = commands.add_parser("show", help="a patient's implants and dose history")
    show.add_argument("identifier", metavar="ID", help="the patient's identifier")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_options(show, argparse.SUPPRESS)
    show.set_defaults(handler=run_patient_show)

    bind = commands.add_parser("bind", help="bind the pump on PORT to a patient as a new implant (the pump is only "
                               "read)")
    add_port(bind)
    bind.add_argument("--patient", required=True, metavar="ID", help="the patient the pump is implanted in")
    bind.add_argument("--implanted", type=_date, metavar="YYYY-MM-DD", help="the implant date (default: today)")
    bind.add_argument("--catheter-cm", type=finite, metavar="L", help="the implanted catheter's length, cm")
    add_replaces_option(bind)
    bind.add_argument("--json", action="store_true", help="print one JSON object")
    bind.set_defaults(handler=run_patient_bind)

    revise = commands.add_parser("revise-catheter", help="record a catheter revision: the implant's catheter is now "
                                 "L cm long (a clinician)")
    revise.add_argument("pump", metavar="PORT-or-SERIAL", help="the pump's port (it is read for its serial only) or "
                        "its serial")
    revise.add_argument("--patient", required=True, metavar="ID", help="the patient the pump is implanted in")
    revise.add_argument("--catheter-cm", type=finite, required=True, metavar="L", help="the catheter's length now, cm")
    revise.add_argument("--date", type=_date, required=True, metavar="YYYY-MM-DD", help="the day of the revision")
    revise.add_argument("--note", default="", help="what was done (recorded with the revision)")
    add_store_options(revise, argparse.SUPPRESS)
    revise.set_defaults(handler=run_patient_revise_catheter, trace=None, trace_plaintext=False)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


EARLIEST_BIRTH = date(1900, 1, 1)
"""A birth date before it is a typed century (1800 for 1980), not a patient."""


def run_patient_add(args: argparse.Namespace) -> int:
    if args.born < EARLIEST_BIRTH:
        raise InputError([("--born", f"{args.born.isoformat()} is before {EARLIEST_BIRTH.isoformat()}, the earliest "
                                     "birth date taken: check the year; nothing was recorded")])
    by = signed_in(args, Permission.MANAGE_PATIENTS)
    patient = clinic(args).patients.add(by, args.identifier, args.name, args.born)
    print(f"added patient {patient.identifier}: {patient.name}, born {patient.birth_date.isoformat()}")
    return EXIT_OK


def _patient_json(patient) -> dict:
    return {"identifier": patient.identifier, "name": patient.name, "birth_date": patient.birth_date.isoformat()}


def run_patient_list(args: argparse.Namespace) -> int:
    signed_in(args, Permission.EXPORT)
    patients = clinic(args).patients.search(args.search)
    if args.json:
        print(json.dumps({"patients": [_patient_json(patient) for patient in patients]}, indent=2))
        return EXIT_OK
    for patient in patients:
        print(f"{patient.identifier:<16} {patient.birth_date.isoformat()}  {patient.name}")
    return EXIT_OK


def _implant_json(implant) -> dict:
    return {"pump_serial": implant.pump_serial, "pump_model": implant.pump_model,
            "implanted_on": implant.implanted_on.isoformat(),
            "explanted_on": None if implant.explanted_on is None else implant.explanted_on.isoformat(),
            "catheter_cm": implant.catheter_cm,
            "revisions": [{"revised_on": revision.revised_on.isoformat(), "catheter_cm": revision.catheter_cm,
                           "note": revision.note} for revision in implant.revisions]}


def _dose_json(entry) -> dict:
    return {"time": entry.time.isoformat(), "kind": entry.kind, "pump_serial": entry.pump_serial,
            "session_id": entry.session_id, "drug": entry.drug, "dose_unit": entry.dose_unit,
            "concentration": entry.concentration, "daily_dose": entry.daily_dose, "volume_ml": entry.volume_ml,
            "dose": entry.dose, "reservoir_ml": entry.reservoir_ml, "username": entry.username,
            "audit_record_id": entry.audit_record_id}


def run_patient_show(args: argparse.Namespace) -> int:
    signed_in(args, Permission.EXPORT)
    patients = clinic(args).patients
    patient = patients.get(args.identifier)
    implants, history = patients.implants(patient.identifier), patients.dose_history(patient.identifier)
    if args.json:
        print(json.dumps({"patient": _patient_json(patient), "implants": [_implant_json(i) for i in implants],
                          "dose_history": [_dose_json(entry) for entry in history]}, indent=2))
        return EXIT_OK
    print(f"Patient       {patient.identifier}: {patient.name}, born {patient.birth_date.isoformat()}")
    for implant in implants:
        until = "" if implant.explanted_on is None else f" to {implant.explanted_on.isoformat()}"
        catheter = "" if implant.catheter_cm is None else f", catheter {implant.catheter_cm:g} cm"
        print(f"Implant       {implant.pump_model} serial {implant.pump_serial}, from "
              f"{implant.implanted_on.isoformat()}{until}{catheter}")
        for revision in implant.revisions:
            print(f"  revision    {revision.revised_on.isoformat()}: catheter {revision.catheter_cm:g} cm "
                  f"({revision.note})")
    if not implants:
        print("Implant       none recorded")
    for entry in history:
        print(f"{entry.time.isoformat(timespec='seconds')}  {entry.kind:<8} {_dose_words(entry)}  by "
              f"{entry.username} (pump {entry.pump_serial})")
    return EXIT_OK


def _dose_words(entry) -> str:
    unit = entry.dose_unit
    if entry.kind == "program":
        return f"{entry.daily_dose:g} {unit}/day of {entry.drug} {entry.concentration:g} {unit}/mL"
    if entry.kind == "refill":
        return (f"{entry.volume_ml:g} mL of {entry.drug} {entry.concentration:g} {unit}/mL, reservoir "
                f"{entry.reservoir_ml:g} mL")
    dose = "" if entry.dose is None else f"{entry.dose:g} {unit}"
    volume = "" if entry.volume_ml is None else f" ({entry.volume_ml:g} mL)"
    return f"{dose}{volume}".strip() or entry.drug


def run_patient_bind(args: argparse.Namespace) -> int:
    """Read the pump's identity and bind it to the patient: a new implant (a pump the patient already has is kept);
    a pump bound to another patient is refused (exit code 3)."""
    from clinic.errors import WrongPump
    from programmer.cli.pump_commands import connect, stage

    today = date.today()
    if args.implanted is not None and args.implanted > today:
        raise InputError([("--implanted", f"{args.implanted.isoformat()} is after today ({today.isoformat()}): an "
                                          "implant date is the day the pump went in; nothing was recorded")])
    user = signed_in(args, Permission.MANAGE_PATIENTS)
    low, high = CATHETER_CM_RANGE
    if args.catheter_cm is not None and not low <= args.catheter_cm <= high:
        raise InputError([("--catheter-cm", f"{args.catheter_cm:g} cm is outside {low:g} to {high:g} cm; nothing was "
                                            "recorded")])
    visit = open_visit(args, user)
    after = "nothing was sent that changes the pump"
    with connect(args, after) as driver, stage(args, f"identifying {args.port}", after):
        identity = driver.identify()
    try:
        patient = visit.choose_patient(args.patient, identity.serial, identity.model, implanted_on=args.implanted,
                                       catheter_cm=args.catheter_cm, replaces=args.replaces)
    except WrongPump as exc:
        if not replacement_hint(exc):
            raise
        raise WrongPump(f"{exc}{replacement_hint(exc)}") from None
    implant = next(i for i in clinic(args).patients.implants(patient.identifier) if i.pump_serial == identity.serial)
    if args.json:
        print(json.dumps({"patient": _patient_json(patient), "implant": _implant_json(implant)}, indent=2))
    else:
        replaced = "" if args.replaces is None else (f"; pump {args.replaces}, which it replaces, is recorded as "
                                                     f"explanted on {implant.implanted_on.isoformat()}")
        print(f"the pump {identity.model} serial {identity.serial} is {patient.identifier}'s ({patient.name}), "
              f"implanted {implant.implanted_on.isoformat()}{replaced}")
    return EXIT_OK


def _is_port(text: str) -> bool:
    return "://" in text or text.startswith("/") or text.upper().startswith("COM")


def run_patient_revise_catheter(args: argparse.Namespace) -> int:
    """Record a catheter revision of the patient's implanted pump: the catheter's length from then on (what the
    clinic record and the session report give as its catheter). A pump not implanted in that patient is refused
    (exit code 3)."""
    from programmer.errors import PermissionRefused

    today = date.today()
    if args.date > today:
        raise InputError([("--date", f"{args.date.isoformat()} is after today ({today.isoformat()}): a revision is "
                                     "recorded when it was done; nothing was recorded")])
    user = signed_in(args, Permission.CHANGE_THERAPY)
    serial = args.pump
    if _is_port(args.pump):
        from programmer.cli.pump_commands import connect, stage

        args.port, after = args.pump, "nothing was sent that changes the pump"
        with connect(args, after) as driver, stage(args, f"identifying {args.port}", after):
            serial = driver.identify().serial
    patients = clinic(args).patients
    patient = patients.get(args.patient)
    implant = patients.implant_for_pump(serial)
    if implant is None or implant.patient_identifier != patient.identifier or implant.explanted_on is not None:
        whose = ("is bound to no patient" if implant is None else
                 f"is recorded as explanted on {implant.explanted_on.isoformat()}" if implant.explanted_on else
                 f"is implanted in patient {implant.patient_identifier}")
        raise PermissionRefused(f"pump {serial} {whose}, not implanted in patient {patient.identifier}: its catheter "
                                "is not theirs to revise; nothing was recorded", step="revise a catheter")
    revised = patients.revise_catheter(user, serial, args.date, args.catheter_cm, args.note)
    was = "not recorded" if implant.catheter_cm is None else f"{implant.catheter_cm:g} cm"
    print(f"catheter of pump {serial} ({patient.identifier}) revised on {args.date.isoformat()}: "
          f"{revised.catheter_cm:g} cm (it was {was})")
    return EXIT_OK

"""The pump-facing subcommands of ``pump-programmer``: interrogate, write, events, refill, set-clock,
set-low-alarm, and pair and unpair (the secure link's pairing with a pump, docs/cli.md).

Everything that decides lives in ``interrogation`` and ``session`` (shared with the GUI); this module
parses options, checks every piece of input *before* a pump is contacted (so exit code 2 always means
nothing was sent), prints, and maps outcomes to the exit codes of docs/cli.md. Every early end
is one line on stderr, never a traceback: a failure is not caught here but said by ``main``'s one handler,
to which each command tells what it is doing with the pump (``stage``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Callable

from pydantic import ValidationError

from programmer.audit import AuditLog
from commandline import EXIT_INVALID, finite
from programmer.cli.support import (EXIT_LINK_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_VERIFY_FAILED, PROG, Stage,
                                    add_link_options, failure_line, mark_audit_start, with_options)
from programmer.errors import AuditError, InputError, LinkError, PumpRefused, from_validation_error
from programmer.pairing_keys import default_keys_path
from programmer.cli.interrogation_report import interrogation_to_json, interrogation_to_text
from programmer.clock import computer_now
from programmer.clock_changes import Move, local_zone, move_zone, plan_move
from programmer.interrogation import read_pump
from programmer.snapshot import PumpSnapshot
from programmer.library import LoadedLibrary, load_library
from programmer.cli.plan_report import plan_to_json, plan_to_text, refill_by_json
from programmer.cli.bolus_report import ask_about_uncertain_bolus
from programmer.cli.refill_report import refill_bridge_json, refill_text
from programmer.clock import iso
from programmer.port import ActiveProgram, PumpDriver, open_driver
from programmer.program import Drug, Program, load_program
from programmer.audit_record import record_unreachable
from programmer.settings_commit import set_clock, set_low_alarm
from programmer.commit import SessionResult, commit_refill, commit_write
from programmer.outcome import Outcome
from programmer.checks import PriorTherapy
from programmer.overrides import CLINICAL_CONTEXTS, ClinicalContext, clinical_context
from programmer.refill import (REFILL_GUIDANCE, RefillRequest, RefillReview, Syringe, check_volumes, check_withdrawal,
                               review_refill)
from programmer.review import WriteReview, clean_override_reason, review_write
from programmer.refill_by import RefillBy, plan_refill_by, replace_by, snapshot_refill_by
from programmer.refill_reminder import reminder_calendar, save_reminder
from programmer.roles import Permission, User
from programmer.cli.clinic_visit import (add_visit_options, authorized, clinician_checked, journal_path, match_patient,
                                         open_visit, reading_session, record, session_id)
from programmer.cli.sign_in import add_store_options, clinic, signed_in


EXIT_FOR_OUTCOME = {
    Outcome.VERIFIED: EXIT_OK,
    Outcome.REFUSED: EXIT_REFUSED,
    Outcome.NEEDS_OVERRIDE: EXIT_REFUSED,
    Outcome.PUMP_REFUSED: EXIT_REFUSED,
    Outcome.UNCHANGED: EXIT_LINK_FAILED,
    Outcome.UNCERTAIN: EXIT_LINK_FAILED,
    Outcome.MISMATCH: EXIT_VERIFY_FAILED,
}


def add_pump_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register interrogate, write, events and refill on the ``pump-programmer`` subcommand parser."""
    interrogate = subparsers.add_parser("interrogate", help="read everything the pump reports")
    add_port(interrogate)
    interrogate.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    interrogate.add_argument("--library", help="drug library JSON to use instead of the shipped one (the drug's "
                             "stability limit, for the refill-by date)")
    interrogate.add_argument("--ics", metavar="FILE", help="also save the refill-by date as a calendar event "
                             "(RFC 5545) in FILE")
    interrogate.add_argument("--moving-to", metavar="ZONE", help="the patient moves, with the pump, to time zone "
                             "ZONE (an IANA name, such as America/New_York): foresee that clock change too (with --on)")
    interrogate.add_argument("--on", type=_iso_date, metavar="YYYY-MM-DD", help="the day of the move, at 12:00 "
                             "local time (with --moving-to)")
    interrogate.set_defaults(handler=run_interrogate)

    write = subparsers.add_parser("write", help="check a program against the pump, write it, read it back, verify")
    add_port(write)
    write.add_argument("program", help="program document (itb-program/1 JSON)")
    write.add_argument("--previous-daily-dose", metavar="D", type=finite,
                       help="the daily dose the patient had before, from the chart or the old pump, in the drug's "
                            "dose unit per day: asked for when the pump runs no program to compare with")
    write.add_argument("--new-to-itb", action="store_true",
                       help="the patient is new to intrathecal therapy (the starting-dose limits apply); asked for "
                            "like --previous-daily-dose, never with it")
    write.add_argument("--clinical-context", metavar="KEY",
                       help="why a stop or a drop beyond the hard change limit is right, one of: "
                            f"{', '.join(context.key for context in CLINICAL_CONTEXTS)} (with "
                            "--override-soft-limits REASON); without it such a change is refused")
    add_change_options(write)
    write.set_defaults(handler=run_write)

    events = subparsers.add_parser("events", help="read the pump's event log")
    add_port(events)
    form = events.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print one JSON object")
    form.add_argument("--csv", action="store_true", help="print CSV: index,time,kind,detail")
    events.set_defaults(handler=run_events)

    refill = subparsers.add_parser("refill", help="refill the reservoir, step by step: check the volume withdrawn "
                                   "(--check), then state the syringe and the volume added")
    add_port(refill)
    refill.add_argument("--withdrawn-ml", type=finite, required=True, help="volume withdrawn from the reservoir, mL")
    refill.add_argument("--check", action="store_true",
                        help="only compare the volume withdrawn with the pump's calculation: nothing is sent that "
                             "changes the pump (exit 0 within tolerance, 3 outside)")
    refill.add_argument("--added-ml", type=finite, help="volume added to the reservoir, mL")
    refill.add_argument("--drug", help="the syringe's drug, as its label names it (always stated)")
    refill.add_argument("--dose-unit", choices=("mcg", "mg"), help="the syringe's dose unit (always stated)")
    refill.add_argument("--concentration", type=finite,
                        help="the syringe's concentration, dose units per mL (always stated)")
    refill.add_argument("--lot", help="the syringe's lot number, recorded in the audit log")
    refill.add_argument("--expiry", type=_iso_date, metavar="YYYY-MM-DD", help="the syringe's expiry date")
    refill.add_argument("--withdrawal-reason", metavar="REASON",
                        help="why the refill goes on although the volume withdrawn is beyond tolerance (audited)")
    refill.add_argument("--bridge", action="store_true",
                        help="with a new concentration of the drug the pump delivers: start a bridge bolus with the "
                             "refill, so the old drug in the tubing and catheter reaches the patient at the programmed "
                             "dose (a concentration change is refused without it)")
    refill.add_argument("--ics", metavar="FILE", help="after a verified refill, save its refill-by date as a "
                        "calendar event (RFC 5545) in FILE")
    add_change_options(refill)
    refill.set_defaults(handler=run_refill)

    clock = subparsers.add_parser("set-clock", help="set the pump clock to this computer's time and read it back")
    add_port(clock)
    clock.add_argument("--yes", action="store_true", help="confirm: without it nothing is sent")
    clock.add_argument("--json", action="store_true", help="print one JSON object")
    clock.set_defaults(handler=run_set_clock)

    low_alarm = subparsers.add_parser("set-low-alarm", help="set the low-reservoir alarm threshold and read it back")
    add_port(low_alarm)
    low_alarm.add_argument("--ml", type=finite, required=True, help="the new threshold, mL")
    low_alarm.add_argument("--yes", action="store_true", help="confirm: without it nothing is sent")
    low_alarm.add_argument("--json", action="store_true", help="print one JSON object")
    add_visit_options(low_alarm)
    low_alarm.set_defaults(handler=run_set_low_alarm)

    pair = subparsers.add_parser("pair", help="pair this programmer with a pump whose pairing window is open, using "
                                 "the code it shows (nothing else is changed on the pump)")
    add_port(pair)
    pair.add_argument("--code", required=True, metavar="NNNNNN", help="the six-digit code the pump shows")
    pair.add_argument("--json", action="store_true", help="print one JSON object")
    pair.set_defaults(handler=run_pair)

    unpair = subparsers.add_parser("unpair", help="make the pump forget this programmer, and forget its key here")
    add_port(unpair)
    unpair.add_argument("--json", action="store_true", help="print one JSON object")
    unpair.set_defaults(handler=run_unpair)


def add_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("port", help="the pump's port: /dev/ttyUSB0, COM3, socket://HOST:PORT, a pty path")
    parser.add_argument("--trace", metavar="FILE", help="append a timestamped hex trace of the wire to FILE")
    parser.add_argument("--trace-plaintext", action="store_true",
                        help="with --trace: also write each sealed frame's payload as opened (PATIENT DATA) to FILE")
    add_link_options(parser, default=argparse.SUPPRESS)
    add_store_options(parser, default=argparse.SUPPRESS)


def _iso_date(text: str) -> date:
    """An argparse type: a calendar date as YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


def add_change_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clinician", help="the signed-in user's name or username, to check who is signed in (the "
                        "audit log records the signed-in user)")
    add_visit_options(parser)
    parser.add_argument("--override-soft-limits", metavar="REASON",
                        help="acknowledge the warnings (soft limits) with a reason, recorded in the audit log")
    parser.add_argument("--yes", action="store_true", help="confirm: without it nothing is sent")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--library", help="drug library JSON to use instead of the shipped one")
    parser.add_argument("--audit-log", help="audit log file (default: $ITB_AUDIT_LOG, else "
                        "$XDG_STATE_HOME/itb-programmer/audit.jsonl)")


# --- reading -----------------------------------------------------------------------------------------


@contextmanager
def stage(args: argparse.Namespace, doing: str, after: str, refused: str = "") -> Iterator[None]:
    """Say what the command is doing with the pump while the block runs (``support.Stage``). A failure leaves
    it in ``args.stage``, where ``main``'s handler reads it to say what the failure means for the pump."""
    previous, args.stage = args.stage, Stage(doing, after, refused)
    yield
    args.stage = previous


LINK_OPTIONS = {"trace": "--trace", "pairing_code": "--code"}
"""The driver's option names as this command line spells them, for the errors that name them."""


def connect(args: argparse.Namespace, after: str, **extra: object) -> PumpDriver:
    """Open the pump's port. An unwritable trace file or --trace-plaintext without --trace is bad input (exit
    code 2), not a failed link. A link that is not secure is said on standard error, whatever the command."""
    if args.trace_plaintext and not args.trace:
        raise InputError([("--trace-plaintext", "writes the opened payloads into the wire trace: give --trace FILE "
                                                "too; nothing was sent")])
    options = {"trace": args.trace, "trace_plaintext": args.trace_plaintext} if args.trace else {}
    options |= {"allow_insecure_link": args.allow_insecure_link, **extra}
    try:
        with stage(args, "", after):
            driver = open_driver(args.port, **options)
    except InputError as exc:
        raise with_options(exc, LINK_OPTIONS) from None
    if not driver.secure:
        changes = ("changes are sent all the same (--allow-insecure-link)" if args.allow_insecure_link
                   else "nothing that changes the pump will be sent (--allow-insecure-link allows it)")
        print(f"INSECURE LINK: {args.port} speaks only protocol version 1: frames travel in clear and are not "
              f"authenticated, so anyone on the link can read or change them; {changes}", file=sys.stderr)
    return driver


def read_snapshot(driver: PumpDriver, args: argparse.Namespace, after: str) -> PumpSnapshot:
    with stage(args, f"interrogating {args.port}", after):
        return read_pump(driver)


def run_interrogate(args: argparse.Namespace) -> int:
    after = "nothing was sent that changes the pump"
    library = load_library(args.library)
    move = _planned_move(args)
    user = signed_in(args, Permission.INTERROGATE)
    with connect(args, after) as driver:
        snapshot = read_snapshot(driver, args, after)
    session, patient = reading_session(args, user, snapshot.identity.serial)
    if args.ics:
        _save_refill_reminder(snapshot, library, args.ics)
    if args.json:
        print(json.dumps(interrogation_to_json(snapshot, library, move) | {
            "session_id": session, "patient": None if patient is None else patient.identifier}, indent=2))
    else:
        print(interrogation_to_text(snapshot, library, move))
    return EXIT_OK


def _planned_move(args: argparse.Namespace) -> Move | None:
    """``--moving-to ZONE --on DATE``: both or neither; a zone the database knows, a day from today to 400 days on."""
    if (args.moving_to is None) != (args.on is None):
        missing = "--on" if args.on is None else "--moving-to"
        raise InputError([(missing, "--moving-to and --on go together: give the zone and the day of the move")])
    if args.moving_to is None:
        return None
    home = local_zone()
    if home is None:
        raise InputError([("--moving-to", "this computer's time zone cannot be read ($TZ or /etc/localtime), so a "
                                          "move from it cannot be foreseen")])
    try:
        zone = move_zone(args.moving_to)
    except ValueError as exc:
        raise InputError([("--moving-to", str(exc))]) from None
    try:
        return plan_move(zone, args.on, home, computer_now())
    except ValueError as exc:
        raise InputError([("--on", str(exc))]) from None


def _save_refill_reminder(snapshot: PumpSnapshot, library: LoadedLibrary, path: str) -> None:
    """``--ics FILE``: the refill-by date as a calendar event; a pump without one (no drug) is bad input."""
    refill, drug = snapshot_refill_by(snapshot, library), snapshot.active.drug
    if refill is None or drug is None:
        raise InputError([("--ics", f"{path} was not written: the pump gives no refill-by date (it holds no drug, "
                                    "or nothing bounds the date)")])
    try:
        save_reminder(path, reminder_calendar(snapshot.identity.serial, drug, refill, computer_now()))
    except OSError as exc:
        raise InputError([("--ics", f"cannot write {path}: {exc.strerror or exc}")]) from None


def run_set_clock(args: argparse.Namespace) -> int:
    """Read the clock, set it to this computer's local time, read it again (as decocare's set_clock does), through
    ``settings_commit.set_clock``.

    Audited: a role that may not set it is refused (exit code 3) with a refused record, and what was done is one
    ``outcome`` record (the times before, sent and read back). It has no ``attempt`` record: the clock is not therapy,
    so it is not held to the patient's hard stop, and a technician sets the clock of a pump bound to nobody."""
    if not args.yes:
        raise InputError([("--yes", "setting the pump clock needs --yes: nothing was sent")])
    user = signed_in(args, None, "set_clock")
    audit = open_visit(args, user).audit
    authorized(audit, "set_clock", user, args.allow_insecure_link)
    with (connect(args, "nothing was sent") as driver,
          stage(args, f"setting the clock of {args.port}",
                "the pump clock may or may not have been set: interrogate the pump", "the pump clock is unchanged")):
        result = set_clock(driver, user, audit, lambda exc: failure_line(exc, args.stage))
    if result.outcome is Outcome.MISMATCH:
        print(f"{PROG}: {result.message}", file=sys.stderr)
        return EXIT_VERIFY_FAILED
    if args.json:
        print(json.dumps(result.times() | {"drift_s": result.drift_s, "session_id": session_id(args)}, indent=2))
    else:
        print(result.message)
    return EXIT_OK


def run_set_low_alarm(args: argparse.Namespace) -> int:
    """Read the threshold, then set it through ``settings_commit.set_low_alarm``, which trusts only the threshold
    read back (READ_STATUS), never the answer, and refuses one outside the pump's range before anything is sent.
    The pump must be the visit's patient's, as for any change of therapy (``clinic_visit``), and it is audited like
    one: a role refused, an ``attempt`` record before it is sent and an ``outcome`` record after."""
    if not args.yes:
        raise InputError([("--yes", "setting the low-reservoir alarm needs --yes: nothing was sent")])
    user = signed_in(args, None, "set_low_alarm")
    visit = open_visit(args, user)
    authorized(visit.audit, "set_low_alarm", user, args.allow_insecure_link)
    unchanged = "nothing was sent that changes the pump"
    with connect(args, unchanged) as driver:
        with stage(args, f"reading {args.port}", unchanged):
            identity = driver.identify()
            before = driver.read_status().low_alarm_ml
        match_patient(args, "set_low_alarm", identity.serial, identity.model)
        sending = stage(args, f"setting the low-reservoir alarm of {args.port}",
                        "the low-reservoir alarm may or may not have been set: interrogate the pump",
                        "the low-reservoir alarm is unchanged")
        result = set_low_alarm(driver, user, visit.audit, args.ml, identity, before, option="--ml", sending=sending,
                               failed=lambda exc: failure_line(exc, args.stage))
    if result.outcome is Outcome.REFUSED:
        print(f"{PROG}: refused: {result.message}", file=sys.stderr)
        return EXIT_REFUSED
    if result.outcome is Outcome.MISMATCH:
        print(f"{PROG}: {result.message}", file=sys.stderr)
        return EXIT_VERIFY_FAILED
    if args.json:
        print(json.dumps({"low_alarm_ml_before": before, "low_alarm_ml": result.read_back_ml,
                          "alarms": list(result.alarms), "session_id": visit.session_id}, indent=2))
    else:
        print(result.message)
    return EXIT_OK


def run_events(args: argparse.Namespace) -> int:
    after = "nothing was sent that changes the pump"
    signed_in(args, Permission.READ_EVENTS)
    with connect(args, after) as driver, stage(args, f"reading the event log of {args.port}", after):
        identity = driver.identify()
        events = driver.read_events()
    rows = [{"index": e.index, "time": iso(e.time), "kind": e.kind, "detail": e.detail} for e in events]
    if args.json:
        print(json.dumps({"pump": {"model": identity.model, "serial": identity.serial}, "events": rows}, indent=2))
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["index", "time", "kind", "detail"])
        for row in rows:
            writer.writerow([row["index"], row["time"], row["kind"], _compact(row["detail"])])
    else:
        print(f"Event log of {identity.model} serial {identity.serial}: {len(rows)} event(s)")
        for row in rows:
            print(f"{row['index']:>6}  {row['time']}  {row['kind']:<20} {_compact(row['detail'])}")
    return EXIT_OK


def _compact(detail: object) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"))


def run_pair(args: argparse.Namespace) -> int:
    """Pair with the code the pump shows; the key is kept only once the pump said it paired (docs/cli.md)."""
    signed_in(args, Permission.PAIR)
    with (connect(args, "nothing was paired", pairing_code=args.code) as driver,
          stage(args, f"identifying {args.port}", "the pump is paired with this programmer")):
        identity = driver.identify()
    data = {"paired": True, "model": identity.model, "serial": identity.serial, "programmer_id": driver.programmer_id,
            "keys_file": str(default_keys_path())}
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"paired: this programmer ({data['programmer_id']}) and the pump {identity.model} serial "
              f"{identity.serial}; the pair key is kept in {data['keys_file']}")
    return EXIT_OK


def run_unpair(args: argparse.Namespace) -> int:
    """Make the pump forget this programmer (UNPAIR), then forget its key here."""
    signed_in(args, Permission.PAIR)
    unchanged = "the pump is still paired with this programmer"
    with connect(args, unchanged) as driver, stage(args, f"unpairing {args.port}",
                                                    "the pump may or may not have forgotten this programmer"):
        identity = driver.identify()
        driver.unpair()
    data = {"unpaired": True, "model": identity.model, "serial": identity.serial,
            "programmer_id": driver.programmer_id}
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"unpaired: the pump {identity.model} serial {identity.serial} forgot this programmer "
              f"({data['programmer_id']}), and its key was removed here; pair again to talk to it")
    return EXIT_OK


# --- changing ----------------------------------------------------------------------------------------


def confirmed(args: argparse.Namespace, action: str, audited: str | None = None) -> tuple[User, str | None, AuditLog]:
    """The override reason, ``--yes`` and the audit log, checked before any pump is contacted; then the signed-in
    user (``--clinician`` must name them), who must be allowed the change (``audited``: the audit's action, when
    ``action``, the words, is not it), and the visit whose audit log the change is recorded in."""
    try:
        reason = clean_override_reason(args.override_soft_limits)
    except InputError as exc:  # name the options the user typed, not the session's fields
        raise with_options(exc, {"override_reason": "--override-soft-limits"}) from None
    if not args.yes:
        raise InputError([("--yes", f"confirm the {action} with --yes; nothing was sent to the pump")])
    try:
        AuditLog(journal_path(args))
    except AuditError as exc:  # checked before any pump is contacted: an option that cannot be used
        raise InputError([("--audit-log", f"{exc}; nothing was sent to the pump")], step=exc.step) from None
    user = signed_in(args, None, audited or action)
    audit = open_visit(args, user).audit
    clinician_checked(args, audit, audited or action, user)
    mark_audit_start(args, audit)  # an interruption then tells by its attempt record whether anything was sent
    authorized(audit, audited or action, user, args.allow_insecure_link)
    return user, reason, audit


def connect_and_commit(args: argparse.Namespace, action: str, clinician: User, audit: AuditLog,
            commit: Callable[[PumpDriver, PumpSnapshot], SessionResult]) -> SessionResult:
    """Connect, interrogate and commit. A pump that cannot be reached or read is audited, with the line the
    command ends with, and nothing was sent to it; the commit says its own outcomes."""
    unchanged = "nothing was sent: the pump's program is unchanged"
    try:
        with connect(args, unchanged) as driver:
            snapshot = read_snapshot(driver, args, unchanged)
            match_patient(args, action, snapshot.identity.serial, snapshot.identity.model,
                          getattr(args, "catheter_cm", None))
            result = commit(driver, snapshot)
            record(args, result)
            return result
    except (LinkError, PumpRefused) as exc:
        try:
            record_unreachable(audit, action, clinician, failure_line(exc, args.stage))
        except AuditError as not_recorded:
            args.stage = replace(args.stage, after=f"{args.stage.after} (and the audit log could not be written: "
                                                   f"{not_recorded})")
        raise


PRIOR_OPTIONS = {"previous_daily_dose": "--previous-daily-dose", "prior_therapy": "--previous-daily-dose"}
ASK_PRIOR = "give it with --previous-daily-dose D, or say so with --new-to-itb"
"""How this command line answers NO_PROGRAM_TO_COMPARE, and says so when the answer cannot be used."""


def _prior_therapy(args: argparse.Namespace) -> PriorTherapy:
    """--previous-daily-dose or --new-to-itb, checked before any pump is contacted (exit code 2: both, or a dose
    that is none)."""
    try:
        return PriorTherapy(args.previous_daily_dose, args.new_to_itb)
    except InputError as exc:
        both = " (--previous-daily-dose D or --new-to-itb)" if args.new_to_itb else ""
        raise InputError([(PRIOR_OPTIONS.get(field, field), message + both) for field, message in exc.problems]) \
            from None


def _clinical_context(args: argparse.Namespace) -> ClinicalContext | None:
    """--clinical-context, checked before any pump is contacted (exit code 2: a key not in the list)."""
    try:
        return clinical_context(args.clinical_context)
    except InputError as exc:
        raise with_options(exc, {"clinical_context": "--clinical-context"}) from None


def run_write(args: argparse.Namespace) -> int:
    prior = _prior_therapy(args)
    context = _clinical_context(args)
    clinician, reason, audit = confirmed(args, "write")
    program = load_program(args.program)
    library = load_library(args.library)

    def commit(driver: PumpDriver, snapshot: PumpSnapshot) -> SessionResult:
        review = review_write(snapshot, program, library, reason, prior, context)
        if review.report.answer_needed is not None and not prior.given:
            previous = _previous_from_history(args, program)
            if previous is not None:
                review = review_write(snapshot, program, library, reason, previous, context)
        return commit_write(driver, review, clinician, audit)

    result = connect_and_commit(args, "write", clinician, audit, commit)
    review = result.review
    assert isinstance(review, WriteReview), "commit_write's result holds its WriteReview"
    if args.json:
        data = _result_json(result, audit, args)
        data["prior_therapy"] = review.prior_therapy()
        data["clinical_context"] = review.clinical_context()
        data["plan"] = plan_to_json(review.plan, review.report, review.snapshot.limits, review.current_plan)
        print(json.dumps(data, indent=2))
    else:
        print(plan_to_text(review.plan, review.report, review.snapshot.limits, review.current_plan))
        print(_comparison_text(review))
    code = finish(result, args.json, port=args.port)
    if result.outcome is Outcome.REFUSED and NO_ANSWER_CODE in {finding.code for finding in review.report.errors}:
        return EXIT_INVALID  # the command lacked an answer it needs: invalid input, nothing was sent
    return code


def _previous_from_history(args: argparse.Namespace, program: Program) -> PriorTherapy | None:
    """When the pump runs no program to compare with and neither --previous-daily-dose nor --new-to-itb was given:
    the daily dose of the last program in the patient's dose history (in the program's dose unit), said on standard
    error; None when the visit has no patient or the history no such program."""
    visit = args.visit
    if visit.patient is None:
        return None
    last = clinic(args).patients.last_program(visit.patient.identifier)
    if last is None or last.daily_dose is None or last.daily_dose <= 0 or last.dose_unit != program.drug.dose_unit:
        return None
    print(f"{PROG}: the pump runs no program to compare with: the previous daily dose is taken from the dose history "
          f"of {visit.patient.identifier}: {last.daily_dose:g} {last.dose_unit}/day ({last.drug}, the program written "
          f"{last.time.date().isoformat()} by {last.username}; --previous-daily-dose D or --new-to-itb says otherwise)",
          file=sys.stderr)
    return PriorTherapy(last.daily_dose)


def _comparison_text(review: WriteReview) -> str:
    """What the new daily dose was compared with, and the answer about the patient's therapy before, in lines."""
    report, prior = review.report, review.prior
    unit = f"{review.program.drug.dose_unit}/day"
    lines = [f"Compared with {words}" for words in report.compared_with] or ["Compared with nothing: no daily dose "
                                                                            "to compare with"]
    if report.answer_needed is not None:
        answer = (f"previous daily dose {prior.previous_daily_dose:g} {unit}" if prior.previous_daily_dose is not None
                  else "new to intrathecal therapy" if prior.new_to_itb else "none given")
        lines.insert(0, f"Before        the pump has no program to compare with ({report.answer_needed}); the "
                        f"answer: {answer}")
    context = review.clinical_context()
    if context["needed"] or context["key"] is not None:
        stated = "none stated" if context["key"] is None else f"{context['label']} ({context['key']})"
        lines.append(f"Context       {context['why'] or 'not needed'}; the clinical context: {stated}")
    return "\n".join(lines)


REFILL_STEPS = {"--added-ml": "added_ml", "--drug": "drug", "--dose-unit": "dose_unit",
                "--concentration": "concentration", "--lot": "lot", "--expiry": "expiry"}
"""The options a full refill needs every time (the syringe is stated, never assumed to be the pump's drug)."""


def run_refill(args: argparse.Namespace) -> int:
    if args.check:
        return _run_refill_check(args)
    request = _refill_request(args)
    clinician, reason, audit = confirmed(args, "refill")
    library = load_library(args.library)

    def commit(driver: PumpDriver, snapshot: PumpSnapshot) -> SessionResult:
        return commit_refill(driver, review_refill(snapshot, request, library, reason), clinician, audit)

    result = connect_and_commit(args, "refill", clinician, audit, commit)
    review = result.review
    assert isinstance(review, RefillReview), "commit_refill's result holds its RefillReview"
    if args.json:
        data = (_result_json(result, audit, args) | review.audit_details()
                | {"bridge": refill_bridge_json(result, args.port)})
        if result.refill is not None:
            data["refill"] |= {"volume_ml": result.refill.volume_ml, "pump_calculated_ml": result.refill.calculated_ml}
        data["plan"] = None if review.plan is None else plan_to_json(review.plan, review.report, review.snapshot.limits)
        data |= _refill_by_after(result, library)
        print(json.dumps(data, indent=2))
    else:
        print(refill_text(review))
        if review.plan is not None:
            print(plan_to_text(review.plan, review.report, review.snapshot.limits))
    code = finish(result, args.json, port=args.port)
    ask_about_uncertain_bolus(result, args.port)
    if result.outcome is Outcome.VERIFIED and review.plan is not None and not args.json:
        by = _refill_by_after(result, library)
        reason = f" ({by['refill_by_reason']})" if by["refill_by"] is not None else ""
        print(f"New dates     low-reservoir alarm {iso(review.plan.low_alarm_at) or 'never'}, empty "
              f"{iso(review.plan.empty_at) or 'never'}, refill by {by['refill_by'] or 'none'}{reason} (pump clock)")
    if args.ics and result.outcome is Outcome.VERIFIED and review.plan is not None:
        _save_reminder_after_refill(review, library, args.ics)
    return code


def _save_reminder_after_refill(review: RefillReview, library: LoadedLibrary, path: str) -> None:
    """``refill --ics FILE``: the new refill-by date as a calendar event. The refill is done whatever happens
    here, so a file that cannot be written is a warning on standard error, never the refill's exit code."""
    assert review.plan is not None, "a verified refill's review has its plan"
    refill = _next_refill_by(review, library)
    try:
        if refill is None:
            raise OSError("nothing bounds the refill-by date")
        save_reminder(path, reminder_calendar(review.snapshot.identity.serial, review.plan.program.drug, refill,
                                              computer_now()))
    except OSError as exc:
        print(f"{PROG}: warning: the refill is recorded, but the reminder {path} was not written: "
              f"{exc.strerror or exc}", file=sys.stderr)


def _run_refill_check(args: argparse.Namespace) -> int:
    """Step 2 alone: the volume withdrawn against the pump's calculation, before anything is injected."""
    extra = [option for option, name in REFILL_STEPS.items() if getattr(args, name) is not None]
    extra += [option for option, given in (("--withdrawal-reason", args.withdrawal_reason),
                                           ("--clinician", args.clinician), ("--yes", args.yes),
                                           ("--override-soft-limits", args.override_soft_limits),
                                           ("--library", args.library), ("--audit-log", args.audit_log),
                                           ("--ics", args.ics), ("--bridge", args.bridge)) if given]
    if extra:
        raise InputError([(extra[0], f"--check only compares the volume withdrawn and changes nothing: it takes no "
                                     f"{', '.join(extra)}")])
    try:
        check_volumes(withdrawn_ml=args.withdrawn_ml)
    except InputError as exc:
        raise with_options(exc, {"withdrawn_ml": "--withdrawn-ml"}) from None
    after = "nothing was sent that changes the pump"
    signed_in(args, Permission.INTERROGATE)
    with connect(args, after) as driver:
        snapshot = read_snapshot(driver, args, after)
    withdrawal = check_withdrawal(snapshot, args.withdrawn_ml)
    if args.json:
        print(json.dumps({"action": "refill_check",
                          "pump": {"model": snapshot.identity.model, "serial": snapshot.identity.serial},
                          "pump_time": iso(snapshot.status.pump_time), "capacity_ml": withdrawal.capacity_ml,
                          "withdrawal": withdrawal.as_dict(), "guidance": REFILL_GUIDANCE}, indent=2))
    else:
        print(f"Guidance      {REFILL_GUIDANCE}")
        print(f"Expect        {withdrawal.calculated_ml:.4g} mL back (calculated by the pump, tolerance "
              f"{withdrawal.tolerance_ml:.3g} mL)")
        print(f"Withdrawn     {withdrawal.withdrawn_ml:g} mL ({withdrawal.discrepancy_ml:+.3g} mL)")
    if withdrawal.within_tolerance:
        if not args.json:
            print("within tolerance: go on with the syringe (refill PORT --withdrawn-ml W --added-ml V --drug ... "
                  "--lot ... --expiry ...)")
        return EXIT_OK
    print(f"{PROG}: outside tolerance: {withdrawal.meaning()}; {withdrawal.what_to_do()}"
          + ("" if not withdrawal.possible else " (--withdrawal-reason REASON)"), file=sys.stderr)
    return EXIT_REFUSED


def _refill_by_after(result: SessionResult, library: LoadedLibrary) -> dict:
    """``refill --json``'s refill-by keys: after a refill, the next one's (``_next_refill_by``); when no refill
    was made, the pump's as read."""
    review = result.review
    assert isinstance(review, RefillReview), "commit_refill's result holds its RefillReview"
    if result.refill is None or review.plan is None:
        return refill_by_json(snapshot_refill_by(review.snapshot, library))
    return refill_by_json(_next_refill_by(review, library))


def _next_refill_by(review: RefillReview, library: LoadedLibrary) -> RefillBy | None:
    """The refill-by date after this refill: the pump is filled now (the review's plan starts then), with the
    battery as read before it."""
    assert review.plan is not None, "a refill that fits has its plan"
    return plan_refill_by(review.plan, library, replace_by(review.snapshot.status))


def _refill_request(args: argparse.Namespace) -> RefillRequest:
    """The full refill's options, every one of them needed (exit code 2 naming those missing)."""
    missing = [option for option, name in REFILL_STEPS.items() if getattr(args, name) is None]
    if missing:
        raise InputError([(missing[0], f"a refill states the volume added and the syringe every time, even with "
                                       f"the pump's own drug (missing: {', '.join(missing)}); nothing was sent")])
    try:
        drug = Drug(name=args.drug, dose_unit=args.dose_unit, concentration_per_ml=args.concentration)
    except ValidationError as exc:
        raise from_validation_error(exc, "drug")
    try:
        return RefillRequest(args.withdrawn_ml, args.added_ml, Syringe(drug, args.lot, args.expiry),
                             args.withdrawal_reason, args.bridge)
    except InputError as exc:
        raise with_options(exc, {"withdrawn_ml": "--withdrawn-ml", "added_ml": "--added-ml", "lot": "--lot",
                                 "withdrawal_reason": "--withdrawal-reason"}) from None


def _program_json(active: ActiveProgram | None) -> dict | None:
    if active is None:
        return None
    drug = None if active.drug is None else active.drug.model_dump(mode="json")
    return {"drug": drug, "therapy": active.therapy, "checksum": active.checksum}


def _result_json(result: SessionResult, audit: AuditLog, args: argparse.Namespace) -> dict:
    review = result.review
    return {
        "action": review.action,
        "outcome": result.outcome.value,
        "message": outcome_message(result),
        "pump": {"model": review.snapshot.identity.model, "serial": review.snapshot.identity.serial},
        "previous": _program_json(review.snapshot.active),
        "requested_checksum": None if review.program is None else review.program.checksum(),
        "active": _program_json(result.active),
        "warnings": [finding.as_dict() for finding in review.report.warnings],
        "errors": [finding.as_dict() for finding in review.report.errors],
        "override_reason": review.override_reason,
        "library": review.report.library.model_dump(),
        "audit_log": str(audit.path),
        "session_id": session_id(args),
    }


NO_ANSWER_CODE = "NO_PROGRAM_TO_COMPARE"
"""The finding that asks for --previous-daily-dose or --new-to-itb: its write ends as invalid input (exit code 2)."""
CONTEXT_CODE = "CLINICAL_CONTEXT_REQUIRED"
"""The finding that asks for --clinical-context: named first when it alone stands in the way."""

HOW_HERE = {
    "CLOCK_DRIFT": "set it with: pump-programmer set-clock PORT --yes",
    "PUMP_HAS_NO_DRUG": "name it with --drug NAME --dose-unit UNIT --concentration C",
    "REFILL_DISCREPANCY": "to go on all the same, give the reason with --withdrawal-reason REASON",
    "CONCENTRATION_CHANGE_NEEDS_BRIDGE": "refill with --bridge: the bridge bolus then starts with the refill",
    "BOLUS_RUNNING": f"stop it with: {PROG} cancel-bolus {{port}} --yes, or wait for it to "
                     "end",
    "CATHETER_NOT_RECORDED": f"record it with: {PROG} prime {{port}} --catheter-cm L --reason REASON",
    "LINE_NEEDS_PRIME": f"{PROG} prime {{port}} --catheter-cm L --reason REASON",
    NO_ANSWER_CODE: ASK_PRIOR,
    CONTEXT_CODE: "state it with --clinical-context KEY, one of "
                  f"{', '.join(context.key for context in CLINICAL_CONTEXTS)}, and the reason with "
                  "--override-soft-limits REASON",
}
"""What a finding asks for, as done on this command line (the domain's words name no option); ``{port}`` is the
PORT the command was given."""


def outcome_message(result: SessionResult) -> str:
    """The session's message, and for warnings without a reason the option that gives one (the domain's words
    name no command-line option)."""
    if result.outcome is Outcome.NEEDS_OVERRIDE:
        return f"{result.message}; give the reason with --override-soft-limits REASON"
    return result.message


def finish(result: SessionResult, as_json: bool, exits: dict[Outcome, int] = EXIT_FOR_OUTCOME,
           port: str = "PORT") -> int:
    """Print the outcome: on stdout when done (unless it is already in the JSON object), else one line on
    stderr naming the first finding that stopped it (all of them are in the report printed above)."""
    report = result.review.report
    stopping = {Outcome.REFUSED: ("refused", report.errors),
                Outcome.NEEDS_OVERRIDE: ("needs an override", report.warnings)}.get(result.outcome)
    if result.outcome is Outcome.VERIFIED:
        if not as_json:
            print(result.message)
    elif stopping is not None and stopping[1]:
        verb, findings = stopping
        more = f" (and {len(findings) - 1} more, listed above)" if len(findings) > 1 else ""
        wanted = {NO_ANSWER_CODE, CONTEXT_CODE} if report.only_context_missing else {NO_ANSWER_CODE}
        first = next((finding for finding in findings if finding.code in wanted), findings[0])
        if first.code == NO_ANSWER_CODE:
            verb = "invalid input"  # exit code 2: the command lacked an answer (run_write)
        how = f" ({HOW_HERE[first.code].replace('{port}', port)})" if first.code in HOW_HERE else ""
        print(f"{PROG}: {verb}: {first.code}: {first.message}{how}{more}; {outcome_message(result)}", file=sys.stderr)
    else:
        print(f"{PROG}: {outcome_message(result)}", file=sys.stderr)
    if result.audit_error:
        print(f"{PROG}: warning: {result.audit_error}", file=sys.stderr)
    return exits[result.outcome]

"""The bolus family of ``pump-programmer``: bolus, prime, bridge, cancel-bolus, bolus-status and demand-dose
(docs/cli.md).

Each change goes the way ``write`` and ``refill`` go (``pump_commands``): the input and the confirmation checked
before a pump is contacted, then interrogate, review (``programmer.bolus``), the findings, the override, the commit
(``programmer.bolus_commit``: audited first, one idempotency id, never sent twice) and the outcome as the pump reports
it, with the exit codes of docs/cli.md. One difference: an outcome that is not known ends with exit code 5, never 4,
and says the bolus's id and the command that asks the pump about it (``bolus-status``, which never acts), never "try
again": a second try could give a second bolus.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Callable

from commandline import finite
from programmer.bolus import (BOLUS_MINUTES_RANGE, DEMAND_DURATION_RANGE, DEMAND_LOCKOUT_RANGE,
                              DEMAND_MAX_PER_DAY_RANGE, PRIME_REASONS, BolusReview, BridgeReview, DemandReview, PrimeReview, review_bolus,
                              review_bridge, review_demand, review_prime)
from programmer.audit_record import record_not_sent
from programmer.bolus_commit import commit_bolus, commit_bridge, commit_cancel, commit_demand, commit_prime
from programmer.cli.bolus_report import (ask_about_uncertain_bolus, bolus_outcome_json, bolus_text, bridge_text,
                                         cancel_command, demand_text, prime_text, result_json)
from programmer.cli.pump_commands import (EXIT_FOR_OUTCOME, add_change_options, add_port, confirmed,
                                          connect, connect_and_commit, finish, outcome_message, stage)
from programmer.cli.support import (EXIT_LINK_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_VERIFY_FAILED, PROG, signal_said,
                                    status_command, with_options)
from programmer.cli.clinic_visit import add_visit_options, match_patient, record, session_id
from programmer.cli.sign_in import signed_in
from programmer.commit import SessionResult
from programmer.dead_volume import CATHETER_CM_RANGE
from programmer.errors import InputError
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.port import BolusOutcome, DemandDose, PumpDriver
from programmer.review import Review
from programmer.roles import Permission
from programmer.snapshot import PumpSnapshot

BOLUS_EXITS = EXIT_FOR_OUTCOME | {Outcome.UNCERTAIN: EXIT_VERIFY_FAILED}
"""A bolus whose fate is unknown ends with 5 (docs/cli.md): the link failed after something may have been sent."""

POLL_INTERVAL_S = 1.0
"""How often ``bolus --wait`` reads the pump while the bolus runs (a session is kept alive by it, too)."""

BOLUS_OPTIONS = {"dose": "--dose", "duration_min": "--duration-min", "lockout_min": "--lockout-min",
                 "max_per_day": "--max-per-day", "catheter_cm": "--catheter-cm", "segments_cm": "--segments-cm",
                 "reason": "--reason"}
"""The review's fields as this command line spells them."""


def add_bolus_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the bolus family on the ``pump-programmer`` subcommand parser."""
    bolus = subparsers.add_parser("bolus", help="give a therapeutic bolus on top of the program: its total dose over "
                                  "a duration, checked against the drug library and the next 24 h")
    add_port(bolus)
    bolus.add_argument("--dose", type=_typed, required=True, metavar="D",
                       help="the bolus's TOTAL dose, in the pump's drug's dose unit (mcg or mg), not per hour")
    bolus.add_argument("--duration-min", type=_typed, required=True, metavar="M",
                       help="the minutes it is given over (1 to 1440)")
    bolus.add_argument("--wait", action="store_true", help="after it started, show its progress until it ends (Ctrl-C "
                       "stops waiting, never the bolus)")
    add_change_options(bolus)
    bolus.set_defaults(handler=run_bolus, failure_json=True)

    prime = subparsers.add_parser("prime", help="prime the tubing and catheter after an implant, a pump replacement "
                                  "or a catheter revision: the volume comes from the catheter length, never typed")
    add_port(prime)
    prime.add_argument("--catheter-cm", type=_typed, metavar="L",
                       help="the catheter's whole length, cm (10 to 110); default: the length the clinic recorded for "
                       "the patient's pump (one that differs from it is refused: record a revision first)")
    prime.add_argument("--reason", required=True, choices=PRIME_REASONS, help="why the line is primed")
    prime.add_argument("--segments-cm", type=_lengths, metavar="A,B",
                       help="after a revision, the catheter's segments, cm, adding up to --catheter-cm")
    add_change_options(prime)
    prime.set_defaults(handler=run_prime, failure_json=True)

    bridge = subparsers.add_parser("bridge", help="push the old concentration out of the tubing and catheter at its "
                                   "own rate after a concentration change, so the patient gets the programmed dose")
    add_port(bridge)
    add_change_options(bridge)
    bridge.set_defaults(handler=run_bridge, failure_json=True)

    cancel = subparsers.add_parser("cancel-bolus", help="stop a running bolus of any kind")
    add_port(cancel)
    cancel.add_argument("--bolus-id", metavar="ID", help="the bolus to stop (default: the one running)")
    cancel.add_argument("--clinician", help="the signed-in user's name or username, to check who is signed in (the "
                        "audit log records the signed-in user)")
    add_visit_options(cancel)
    cancel.add_argument("--yes", action="store_true", help="confirm: without it nothing is sent")
    cancel.add_argument("--json", action="store_true", help="print one JSON object")
    cancel.add_argument("--audit-log", help="audit log file (as for bolus)")
    cancel.set_defaults(handler=run_cancel_bolus, failure_json=True)

    status = subparsers.add_parser("bolus-status", help="ask the pump what it did with a bolus id: never acts, so "
                                   "it is the safe question after an uncertain outcome")
    add_port(status)
    status.add_argument("--bolus-id", required=True, metavar="ID", help="the bolus's id (the one a command printed)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=run_bolus_status, failure_json=True)

    demand = subparsers.add_parser("demand-dose", help="set the patient's demand dose (the button), write it and "
                                   "verify it by reading it back; or switch it off")
    add_port(demand)
    demand.add_argument("--dose", type=_typed, metavar="D", help="the dose per press, in the pump's drug's dose unit")
    demand.add_argument("--duration-min", type=_typed, metavar="M", help="the minutes one press is given over "
                        "(1 to 60)")
    demand.add_argument("--lockout-min", type=_typed, metavar="L", help="MINUTES from one granted press to the next "
                        "(15 to 1440)")
    demand.add_argument("--max-per-day", type=_count, metavar="N", help="the most granted presses in any 24 h (1 to 24)")
    demand.add_argument("--off", action="store_true", help="switch the demand dose off (with none of the four above)")
    add_change_options(demand)
    demand.set_defaults(handler=run_demand_dose, failure_json=True)


class Typed(float):
    """A number argument that keeps the text typed, so a message quotes it (``-0``, ``1e-400``), not the float it
    became (``-0.0``, ``0.0``)."""

    text: str

    def __new__(cls, value: float, text: str) -> "Typed":
        number = super().__new__(cls, value)
        number.text = text
        return number


class TypedCount(int):
    """A whole-number argument that keeps the text typed."""

    text: str

    def __new__(cls, value: int, text: str) -> "TypedCount":
        number = super().__new__(cls, value)
        number.text = text
        return number


LARGEST = 1.7976931348623157e308


def _typed(text: str) -> Typed:
    """An argparse type: ``commandline.finite``, keeping the text; one too large says the largest number."""
    try:
        return Typed(finite(text), text)
    except argparse.ArgumentTypeError as exc:
        if "too large" in str(exc):
            raise argparse.ArgumentTypeError(f"{text!r} is too large: a number here is at most {LARGEST:.4g} (and "
                                             "within the option's own range)") from None
        raise


def _count(text: str) -> TypedCount:
    """An argparse type: a whole number written with the digits 0-9 (``int`` would also take ``1_0`` and other
    scripts' digits, as ``commandline.finite`` refuses for decimals)."""
    if not text.strip().isascii() or not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number written with the digits 0-9 (e.g. 4)")
    return TypedCount(int(text), text)


BOLUS_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""A bolus id the pump takes (docs/protocol.md, BOLUS): 1 to 64 of A-Z a-z 0-9 . _ -; ``demand-`` ids are the pump's
own, for the patient's presses."""


def check_bolus_id(bolus_id: str | None) -> None:
    """``--bolus-id``, checked before any pump is contacted (exit code 2, nothing opened)."""
    if bolus_id is None:
        return
    if not BOLUS_ID.fullmatch(bolus_id):
        raise InputError([("--bolus-id", f"{bolus_id!r} is not a bolus id: 1 to 64 of the characters A-Z a-z 0-9 . _ "
                                         "- (as a bolus command printed it); nothing was sent")])
    if bolus_id.startswith("demand-"):
        raise InputError([("--bolus-id", f"{bolus_id!r} is not a bolus id this programmer gives: ids starting "
                                         "'demand-' are the pump's own, for the patient's presses; nothing was sent")])


def _typed_text(value: float | int) -> str:
    return getattr(value, "text", None) or f"{value:g}"


def check_figures(args: argparse.Namespace, rules: list[tuple[str, str, tuple[float, float] | None, str]]) -> None:
    """Each figure (option, attribute, range or None for above 0 only, what it is), checked before any pump is
    contacted: exit code 2 naming the option and quoting what was typed; nothing opened. The figures are then plain
    numbers again."""
    problems = []
    for option, name, span, what in rules:
        value = getattr(args, name, None)
        if value is None:
            continue
        typed = _typed_text(value)
        if not value > 0:
            problems.append((option, f"{typed!r} is not above 0: {what}; nothing was sent"))
        elif span is not None and not span[0] <= value <= span[1]:
            problems.append((option, f"{typed!r} is outside {span[0]:g} to {span[1]:g}: {what}; nothing was sent"))
    if problems:
        raise InputError(problems)
    for _option, name, _span, _what in rules:
        value = getattr(args, name, None)
        if isinstance(value, Typed):
            setattr(args, name, float(value))
        elif isinstance(value, TypedCount):
            setattr(args, name, int(value))


def _lengths(text: str) -> tuple[float, ...]:
    """An argparse type: lengths separated by commas (``45,15``)."""
    try:
        return tuple(finite(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not lengths in cm separated by commas (e.g. 45,15)") from None


# --- the boluses -----------------------------------------------------------------------------------------------


Reviewer = Callable[[PumpSnapshot, str | None], Review]


def _change(args: argparse.Namespace, action: str, reviewer: Reviewer,
            committer: Callable[..., SessionResult]) -> SessionResult:
    """Confirm, connect, interrogate, review and commit (``action``: the review's, as audited); a value the review
    cannot take is invalid input naming the option (nothing was sent)."""
    clinician, reason, audit = confirmed(args, "demand dose" if action == "demand" else action, action)
    args.audit = audit

    def commit(driver: PumpDriver, snapshot: PumpSnapshot) -> SessionResult:
        try:
            review = reviewer(snapshot, reason)
        except InputError as exc:
            raise with_options(exc, BOLUS_OPTIONS) from None
        return committer(driver, review, clinician, audit)

    return connect_and_commit(args, action, clinician, audit, commit)


def _report(args: argparse.Namespace, result: SessionResult, text: Callable[[], str]) -> int:
    """The review as text or JSON, then the outcome and its exit code; an uncertain bolus says how to ask about it."""
    message = outcome_message(result)
    if args.json:
        print(json.dumps(result_json(result, args.audit, message, args.port, session_id(args)), indent=2))
        args.json_printed = True  # an interruption after this prints no second object
    else:
        print(text())
    code = finish(result, args.json, BOLUS_EXITS, args.port)
    ask_about_uncertain_bolus(result, args.port)
    return code


def run_bolus(args: argparse.Namespace) -> int:
    check_figures(args, [("--dose", "dose", None, "the bolus's total dose, in the pump's drug's dose unit"),
                         ("--duration-min", "duration_min", BOLUS_MINUTES_RANGE, "the minutes the bolus is given "
                          "over")])
    library = load_library(args.library)
    result = _change(args, "bolus", lambda snapshot, reason: review_bolus(
        snapshot, args.dose, args.duration_min, library, reason), commit_bolus)
    review = result.review
    assert isinstance(review, BolusReview), "commit_bolus's result holds its BolusReview"
    code = _report(args, result, lambda: bolus_text(review))
    if result.outcome is Outcome.VERIFIED and result.bolus_id is not None:
        if not args.json:
            print(f"To stop it: {cancel_command(args.port, result.bolus_id, args.clinician)}")
        if args.wait:
            return _wait(args, result.bolus_id, review.dose_unit or "") or code
    return code


def run_prime(args: argparse.Namespace) -> int:
    check_figures(args, [("--catheter-cm", "catheter_cm", CATHETER_CM_RANGE, "the catheter's whole length, cm (it is "
                          "supplied 110 cm long and trimmed)")])
    library = load_library(args.library)
    result = _change(args, "prime", lambda snapshot, reason: review_prime(
        snapshot, _catheter_cm(args, snapshot.identity.serial), args.reason, library, args.segments_cm or (), reason),
        commit_prime)
    review = result.review
    assert isinstance(review, PrimeReview), "the commit's result holds its PrimeReview"
    return _report(args, result, lambda: prime_text(review))


def _catheter_cm(args: argparse.Namespace, serial: str) -> float:
    """``--catheter-cm``, or the length the clinic recorded for the visit's patient's pump (``clinic.prime_catheter``,
    said on standard error); one that differs from the record is refused and audited before anything is sent (exit
    code 3), naming the command that records a revision."""
    from clinic.errors import CatheterMismatch
    from clinic.prime_catheter import prime_length, recorded_catheter

    visit, given = args.visit, args.catheter_cm
    recorded = recorded_catheter(visit.store.patients, visit.patient, serial)
    try:
        length = prime_length(recorded, None if given is None else float(given))
    except CatheterMismatch as exc:
        how = (f", with {PROG} patient revise-catheter {serial} --patient {exc.patient} --catheter-cm {exc.given:g} "
               "--date YYYY-MM-DD --note TEXT")
        refusal = CatheterMismatch(exc.serial, exc.patient, exc.recorded, exc.given, named="--catheter-cm ", how=how)
        record_not_sent(visit.audit, "prime", visit.user, str(refusal), serial)
        raise refusal from None
    if length is None:
        raise InputError([("--catheter-cm", f"the catheter's whole length, cm, is needed: pump {serial} has no "
                                            "catheter length in the clinic record; nothing was sent")])
    if recorded is not None and given is None:
        print(f"{PROG}: priming with the catheter length recorded for pump {serial} of {recorded.patient}: {recorded}",
              file=sys.stderr)
    return length


def run_bridge(args: argparse.Namespace) -> int:
    library = load_library(args.library)
    result = _change(args, "bridge", lambda snapshot, reason: review_bridge(snapshot, library, None, reason),
                     commit_bridge)
    review = result.review
    assert isinstance(review, BridgeReview), "the commit's result holds its BridgeReview"
    return _report(args, result, lambda: bridge_text(review))


def _wait(args: argparse.Namespace, bolus_id: str, unit: str) -> int | None:
    """``bolus --wait``: read the pump until the bolus ends, one progress line a reading (overwritten on a terminal).
    Ctrl-C (or SIGTERM) ends only the waiting: the bolus goes on, the line says how to stop it, and the exit code is
    the signal's (130, 143); None when the bolus ended while followed."""
    live = sys.stdout.isatty() and not args.json
    back, end = ("\r", "") if live else ("", "\n")  # a terminal's line is rewritten; elsewhere one line a reading
    after = "the bolus goes on as the pump runs it: reading it changes nothing"
    try:
        with connect(args, after) as driver, stage(args, f"following bolus {bolus_id} on {args.port}", after):
            while True:
                running = driver.read_status().bolus
                if running is None or running.bolus_id != bolus_id:
                    break
                if not args.json:
                    print(f"{back}delivering: {running.delivered:.4g} of {running.dose:.4g} {unit}, "
                          f"{running.remaining_s / 60:.1f} min left", end=end, flush=True)
                time.sleep(POLL_INTERVAL_S)
            ended = driver.bolus_status(bolus_id)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (support.Terminated)
        _name, said, code = signal_said(exc)
        if live:
            print()  # ends the rewritten progress line
        print(f"{PROG}: interrupted by {said}: stopped waiting; the bolus {bolus_id} goes on. To stop it: "
              f"{cancel_command(args.port, bolus_id, args.clinician)}", file=sys.stderr)
        return code
    if ended is not None and not args.json:
        if live:
            print()  # ends the rewritten progress line
        print(f"bolus {bolus_id} {ended.state}: {ended.delivered or 0:.4g} of {ended.dose:.4g} {unit} delivered "
              f"({ended.volume_ml:.4g} mL)")
    return None


# --- stopping and asking -------------------------------------------------------------------------------------------


def run_cancel_bolus(args: argparse.Namespace) -> int:
    """Stop the bolus named, or the one running, audited (``programmer.bolus_commit.commit_cancel``); a bolus that
    already ended answers how it ended (exit 0). The kind and the mL are the pump's; a cancelled bridge says what of
    the old drug is left in the line and how to resume it."""
    check_bolus_id(args.bolus_id)
    args.override_soft_limits = None  # a cancel is always allowed: nothing to override
    clinician, _reason, audit = confirmed(args, "cancel", "cancel_bolus")
    unchanged = "nothing was sent: the bolus goes on"
    with connect(args, unchanged) as driver, stage(args, f"reading {args.port}", unchanged):
        identity = driver.identify()
        match_patient(args, "cancel_bolus", identity.serial, identity.model)
        result = commit_cancel(driver, args.bolus_id, clinician, audit)
    record(args, result)
    stopped = result.bolus
    unit = None if result.review.snapshot.active.drug is None else result.review.snapshot.active.drug.dose_unit
    ended = stopped is not None and stopped.state != "delivering"
    if result.bolus_id is None:
        code = EXIT_REFUSED  # no bolus runs and none was named: nothing was sent
    elif result.outcome is Outcome.VERIFIED or (result.outcome is Outcome.UNCHANGED and ended):
        code = EXIT_OK  # cancelled, or it had already ended: a resend is harmless
    else:
        code = CANCEL_EXITS.get(result.outcome, EXIT_VERIFY_FAILED)
    if args.json:
        print(json.dumps({"outcome": result.outcome.value, "message": result.message, "bolus_id": result.bolus_id,
                          "kind": None if stopped is None else stopped.kind,
                          "state": None if stopped is None else stopped.state,
                          "delivered": None if stopped is None else (stopped.delivered if stopped.delivered is not None
                                                                     else stopped.dose),
                          "volume_ml": None if stopped is None else stopped.volume_ml,
                          "dose": None if stopped is None else stopped.dose, "dose_unit": unit,
                          "status_command": None if result.bolus_id is None else status_command(args.port,
                                                                                                result.bolus_id),
                          "audit_log": str(audit.path), "session_id": session_id(args)}, indent=2))
        args.json_printed = True
    if code == EXIT_OK:
        if not args.json:
            print(result.message)
    else:
        ask = ("" if result.bolus_id is None or result.outcome is Outcome.PUMP_REFUSED
               else f"; ask the pump: {status_command(args.port, result.bolus_id)}")
        print(f"{PROG}: {'refused: ' if code == EXIT_REFUSED else ''}{result.message}{ask}", file=sys.stderr)
    if result.audit_error:
        print(f"{PROG}: warning: {result.audit_error}", file=sys.stderr)
    return code


CANCEL_EXITS = {Outcome.PUMP_REFUSED: EXIT_REFUSED, Outcome.REFUSED: EXIT_REFUSED, Outcome.UNCERTAIN: EXIT_LINK_FAILED,
                Outcome.UNCHANGED: EXIT_VERIFY_FAILED, Outcome.MISMATCH: EXIT_VERIFY_FAILED}
"""``cancel-bolus``'s exit codes when it did not stop the bolus (docs/cli.md): the pump knows no such id (3), the link
failed and the pump could not say (4), the pump reports it still delivering (5)."""


def run_bolus_status(args: argparse.Namespace) -> int:
    """What the pump knows of a bolus id; never acts."""
    check_bolus_id(args.bolus_id)
    after = "nothing was sent that changes the pump"
    signed_in(args, Permission.INTERROGATE)
    with connect(args, after) as driver, stage(args, f"asking {args.port} about bolus {args.bolus_id}", after):
        identity = driver.identify()
        known = driver.bolus_status(args.bolus_id)
        drug = driver.read_program().drug
    unit = "" if drug is None else drug.dose_unit
    if args.json:
        print(json.dumps({"bolus_id": args.bolus_id, "known": known is not None, "dose_unit": unit or None,
                          "pump": {"model": identity.model, "serial": identity.serial},
                          "bolus": bolus_outcome_json(known)}, indent=2))
    else:
        print(_status_text(args.bolus_id, known, unit))
    return EXIT_OK


def _status_text(bolus_id: str, known: BolusOutcome | None, unit: str) -> str:
    if known is None:
        return (f"bolus {bolus_id}: the pump never started a bolus with this id (or no longer remembers it: it keeps "
                "the last 64): nothing was delivered under it")
    duration = "" if known.duration_min is None else f" over {known.duration_min:.4g} min"
    return (f"bolus {bolus_id} ({known.kind}, the pump's action {known.action_number}): {known.state}; "
            f"{known.delivered or 0:.4g} of {known.dose:.4g} {unit} delivered ({known.volume_ml:.4g} mL{duration})")


# --- the demand dose -----------------------------------------------------------------------------------------------

DEMAND_FIGURES = {"--dose": "dose", "--duration-min": "duration_min", "--lockout-min": "lockout_min",
                  "--max-per-day": "max_per_day"}


def _demand(args: argparse.Namespace) -> DemandDose:
    """The demand dose asked, or off; both, or neither, is invalid input (nothing sent)."""
    given = [option for option, name in DEMAND_FIGURES.items() if getattr(args, name) is not None]
    if args.off:
        if given:
            raise InputError([(given[0], f"--off switches the demand dose off: it takes no {', '.join(given)}; "
                                         "nothing was sent")])
        return DemandDose(enabled=False)
    missing = [option for option in DEMAND_FIGURES if option not in given]
    if missing:
        raise InputError([(missing[0], f"a demand dose needs all of {', '.join(DEMAND_FIGURES)} (missing: "
                                       f"{', '.join(missing)}), or --off; nothing was sent")])
    return DemandDose(True, args.dose, args.duration_min, args.lockout_min, args.max_per_day)


def run_demand_dose(args: argparse.Namespace) -> int:
    check_figures(args, [("--dose", "dose", None, "the dose a press gives, in the pump's drug's dose unit"),
                         ("--duration-min", "duration_min", DEMAND_DURATION_RANGE, "the minutes a press is given over"),
                         ("--lockout-min", "lockout_min", DEMAND_LOCKOUT_RANGE, "the minutes from one granted press "
                          "to the next"),
                         ("--max-per-day", "max_per_day", DEMAND_MAX_PER_DAY_RANGE, "the most granted presses in any "
                          "24 h")])
    demand = _demand(args)
    library = load_library(args.library)
    result = _change(args, "demand", lambda snapshot, reason: review_demand(snapshot, demand, library, reason),
                     commit_demand)
    review = result.review
    assert isinstance(review, DemandReview), "the commit's result holds its DemandReview"
    return _report(args, result, lambda: demand_text(review))


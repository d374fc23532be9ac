"""``pump-programmer audit``: check the clinic database's audit trail, read it, and add the local journal's records
it lacks.

Why a command to verify: the trail is a hash chain (each record's hash covers the one before), so an edited,
deleted, inserted or reordered record, or a cut tail, shows at the first record where the chain breaks; an auditor
(or a nightly script) runs ``audit verify`` and gets exit code 0 only for an intact chain, 3 and the record's seq
otherwise. Why reconcile: a change is journaled on this workstation's disk before anything is sent, then added to the
database; a database that was out of reach at that moment gets the records at the next visit, or at once with
``audit reconcile``. The trail lives in the clinic database (``clinic.audit_trail``); this module parses and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from programmer.cli.clinic_visit import journal_path
from programmer.cli.sign_in import add_store_options, clinic, signed_in
from programmer.cli.support import EXIT_OK, EXIT_REFUSED, PROG, timestamp
from programmer.roles import Permission


def add_audit_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``audit`` with its commands ``verify``, ``list`` and ``reconcile``."""
    audit = subparsers.add_parser("audit", help="verify, read or complete the clinic database's audit trail")
    commands = audit.add_subparsers(dest="audit_command", required=True, metavar="{verify,list,reconcile}",
                                    parser_class=type(audit))

    verify = commands.add_parser("verify", help="check the audit trail's hash chain: exit 0 intact, 3 broken (with "
                                 "the first bad record)")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_options(verify, argparse.SUPPRESS)
    verify.set_defaults(handler=run_audit_verify)

    listing = commands.add_parser("list", help="the audit trail's records, filtered")
    listing.add_argument("--patient", metavar="ID", help="only this patient's records")
    listing.add_argument("--user", metavar="USER", help="only the records of this username")
    listing.add_argument("--action", metavar="ACTION", help="only this action (write, refill, bolus, prime, bridge, "
                         "demand, cancel_bolus)")
    listing.add_argument("--since", type=_moment, metavar="ISO", help="only records at or after this time")
    listing.add_argument("--until", type=_moment, metavar="ISO", help="only records at or before this time")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_options(listing, argparse.SUPPRESS)
    listing.set_defaults(handler=run_audit_list)

    reconcile = commands.add_parser("reconcile", help="add the records of this workstation's audit journal that the "
                                    "clinic database lacks")
    reconcile.add_argument("--audit-log", help="the journal (default: $ITB_AUDIT_LOG, else "
                           "$XDG_STATE_HOME/itb-programmer/audit.jsonl)")
    add_store_options(reconcile, argparse.SUPPRESS)
    reconcile.set_defaults(handler=run_audit_reconcile)


def _moment(text: str) -> datetime:
    """An ISO 8601 time; one without a UTC offset is this computer's local time."""
    moment = timestamp(text)
    return moment if moment.tzinfo is not None else moment.astimezone()


def run_audit_verify(args: argparse.Namespace) -> int:
    signed_in(args, Permission.EXPORT)
    check = clinic(args).audit.verify()
    if args.json:
        print(json.dumps({"intact": check.intact, "records": check.records, "head_hash": check.head_hash,
                          "first_bad_seq": check.first_bad_seq, "problem": check.problem, "message": check.message},
                         indent=2))
    if check.intact:
        if not args.json:
            print(f"intact: {check.records} record(s), head {check.head_hash}")
        return EXIT_OK
    print(f"{PROG}: refused: the audit trail is broken at record {check.first_bad_seq} ({check.problem}): "
          f"{check.message}", file=sys.stderr)
    return EXIT_REFUSED


def run_audit_list(args: argparse.Namespace) -> int:
    signed_in(args, Permission.EXPORT)
    entries = clinic(args).audit.query(patient=args.patient, username=args.user, action=args.action,
                                       since=args.since, until=args.until)
    if args.json:
        print(json.dumps({"records": [{"seq": entry.seq, "hash": entry.hash, "record": entry.record}
                                      for entry in entries]}, indent=2))
        return EXIT_OK
    for entry in entries:
        record = entry.record
        print(f"{entry.seq:>6}  {record.get('time')}  {record.get('user') or '-':<12} {record.get('action'):<13} "
              f"{record.get('event'):<8} {record.get('outcome') or '-':<15} pump {record.get('pump_serial') or '-'} "
              f"patient {record.get('patient') or '-'}")
    return EXIT_OK


def run_audit_reconcile(args: argparse.Namespace) -> int:
    """An administrator's (MANAGE_USERS): a reconciled record enters the hash chain, which then vouches for it, so
    whoever may write the journal must not be the one who adds it. The store records who did (``by``)."""
    user = signed_in(args, Permission.MANAGE_USERS)
    journal = Path(journal_path(args))
    added = clinic(args).audit.reconcile(journal, by=user)
    print(f"added {added} record(s) of {journal} that the clinic database lacked")
    return EXIT_OK

"""``pump-programmer library``: verify a drug library's approval, sign one, make a signing key.

Why here: a pharmacy approves a site's library by signing it with a key it holds (``sign``, after ``keygen``
once), an administrator adds that key's public half to the trust store, and anyone checks a library file
before giving it to ``--library`` (``verify``). The rules and formats are the domain's
(``programmer.library_signing``; docs/program-format.md); this module parses options, prints, and leaves
every failure to ``main``'s one handler (invalid input: exit code 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from programmer.cli.sign_in import add_store_options, signed_in
from programmer.cli.support import EXIT_OK, with_options
from programmer.errors import InputError
from programmer.roles import Permission
from programmer.library import library_from_bytes, load_library, shipped_library_file
from programmer.library_signing import (ADMINISTRATOR, SHIPPED, TrustedKey, administrator_trust_path, approval_date,
                                        new_key, read_private_key, sign, signature_path, trusted_key,
                                        write_private_key, write_signature)

SIGN_OPTIONS = {"key": "--key", "signer": "--signer", "approved": "--approved", "out": "--out", "name": "--name"}
"""The domain's field names as the options a user typed."""
TRUSTED_BY = {SHIPPED: "shipped with the programmer", ADMINISTRATOR: "added by the administrator"}


def add_library_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``library`` with its commands ``verify``, ``sign`` and ``keygen``."""
    library = subparsers.add_parser("library", help="verify, sign or make a key for drug libraries")
    commands = library.add_subparsers(dest="library_command", required=True, metavar="{verify,sign,keygen}",
                                      parser_class=type(library))

    verify = commands.add_parser("verify", help="check that a library is approved: signed by a trusted key")
    verify.add_argument("file", metavar="FILE", nargs="?",
                        help="the drug library (its signature is FILE.sig); default: the shipped library")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.set_defaults(handler=run_verify)

    signing = commands.add_parser("sign", help="approve a library: write FILE.sig with a key you hold")
    signing.add_argument("file", metavar="FILE", help="the drug library to sign (itb-drug-library/1)")
    signing.add_argument("--key", metavar="KEY.pem", required=True, help="the Ed25519 private key (from keygen)")
    signing.add_argument("--signer", metavar="NAME", required=True, help="who approves the library")
    signing.add_argument("--approved", metavar="YYYY-MM-DD", type=_date, help="the approval date (default: today)")
    add_store_options(signing, argparse.SUPPRESS)
    signing.set_defaults(handler=run_sign)

    keygen = commands.add_parser("keygen", help="make a new signing key (private key file mode 0600)")
    keygen.add_argument("--out", metavar="KEY.pem", required=True, help="the private key file to create")
    keygen.add_argument("--name", help="the key's name in the trust-store entry printed (default: its id)")
    add_store_options(keygen, argparse.SUPPRESS)
    keygen.set_defaults(handler=run_keygen)


def _date(text: str) -> date:
    try:
        return approval_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD (e.g. 2026-12-03)") from None


def run_verify(args: argparse.Namespace) -> int:
    loaded = load_library(args.file)
    approval = loaded.approval
    assert approval is not None, "load_library returns approved libraries only"
    file = args.file or shipped_library_file()
    data = {"file": file, "signature_file": str(signature_path(file))} | loaded.identity.model_dump() | {
        "key_name": approval.key_name, "trusted_by": approval.trusted_by}
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    print(f"{file}: approved: signed by a trusted key, unchanged since")
    print(f"Library       {data['name']} {data['version']}")
    print(f"Approved      {data['approved']} by {data['signer']}")
    print(f"Key           {data['key_id']} ({data['key_name']}, {TRUSTED_BY[approval.trusted_by]})")
    print(f"Content       sha256 {data['sha256']} (of its canonical JSON, as every report names it)")
    return EXIT_OK


def run_sign(args: argparse.Namespace) -> int:
    """Validate the library (an invalid one is never signed), then sign its exact bytes and write FILE.sig. An
    administrator signed in approves libraries."""
    signed_in(args, Permission.APPROVE_LIBRARY)
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError([("", f"cannot read file: {exc.strerror or exc}")], args.file) from None
    library = library_from_bytes(raw, args.file).identity
    try:
        key = read_private_key(args.key)
        signature = sign(raw, key, args.signer.strip(), args.approved or date.today())
    except InputError as exc:
        raise with_options(exc, SIGN_OPTIONS) from None
    written = write_signature(path, signature)
    print(f"signed {args.file}: {library.name} {library.version}, approved {signature.approved} by "
          f"{signature.signer} with key {signature.key_id}; wrote {written}")
    try:
        unread = "" if trusted_key(signature.key_id) is None else None
    except InputError as exc:  # the signature is written all the same: the trust store is this computer's concern
        unread = f" (and its administrator's file cannot be used: {exc})"
    if unread is not None:
        print(f"pump-programmer: note: key {signature.key_id} is not in this computer's trust store{unread}: the "
              f"programmer here refuses the library until an administrator adds the key to "
              f"{administrator_trust_path()}", file=sys.stderr)
    return EXIT_OK


def run_keygen(args: argparse.Namespace) -> int:
    """Make the key and its trust-store entry (the name checked) first, then write the private key file. An
    administrator signed in makes signing keys."""
    signed_in(args, Permission.APPROVE_LIBRARY)
    key = new_key()
    try:
        entry = TrustedKey.of(key.public_key(), None if args.name is None else args.name.strip())
        write_private_key(args.out, key)
    except InputError as exc:
        raise with_options(exc, SIGN_OPTIONS) from None
    print(f"wrote {args.out}: a new Ed25519 private key, readable by its owner only (mode 0600); keep it secret")
    print(f"Key id        {entry.key_id}")
    print(f"Public key    {entry.public_key}")
    print("For each programmer that is to accept libraries signed with it, an administrator adds this entry to "
          f"\"keys\" in {administrator_trust_path()} (itb-library-trust/1, docs/program-format.md):")
    print(json.dumps(entry.model_dump()))
    return EXIT_OK

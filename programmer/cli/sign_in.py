"""Who is at the keyboard: the clinic database the command line uses (``--db``), the signed-in user's token
(``--token-file``), and the permission every pump command asks of that user before it contacts a pump.

Why a token file and not a password on every command: a script runs many commands, and a password typed (or kept in
a file) once a shift is one secret exposed once. ``login`` checks the password and writes a token, readable by its
owner only, that stands for the user for some hours; the database keeps only its hash, so ``logout`` (or the
token's end) revokes it for good. Why ask here, before a pump is contacted: a role that may not use a command learns
so at once, naming the role and how to sign in as someone who may, and nothing was read from or sent to a pump. The
commits ask again, whatever called them (``programmer.audit_record.Attempt``).

The database and the token file are found the same way by every command: ``--db URL`` (else ``$ITB_DB``, else SQLite
in the user's data directory) and ``--token-file FILE`` (else ``$ITB_TOKEN_FILE``, else ``token`` in the user's state
directory, ``$XDG_STATE_HOME/itb-programmer/``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import uuid
from datetime import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from programmer.audit import AUDIT_FORMAT
from programmer.cli.support import PROG
from programmer.errors import InputError, PermissionRefused
from programmer.roles import Permission, User, require

if TYPE_CHECKING:
    from clinic.store import Store

TOKEN_ENV = "ITB_TOKEN_FILE"
LOGIN = f"{PROG} login --user NAME"
"""What to run to sign in, as the refusals say it."""


def add_store_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    """``--db`` and ``--token-file``: before the command (on the whole command line) and after it, on each command
    that uses the clinic record; the command's own take ``argparse.SUPPRESS`` so they never hide one given before."""
    parser.add_argument("--db", metavar="URL", default=default,
                        help="the clinic database (default: $ITB_DB, else SQLite in the user's data directory)")
    parser.add_argument("--token-file", metavar="FILE", default=default,
                        help=f"the signed-in user's token (default: ${TOKEN_ENV}, else "
                             "$XDG_STATE_HOME/itb-programmer/token)")


def default_token_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$ITB_TOKEN_FILE`` when set and not empty, else ``token`` in the user's state directory."""
    if environ.get(TOKEN_ENV):
        return Path(environ[TOKEN_ENV])
    state = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "state")
    return Path(state) / "itb-programmer" / "token"


def token_path(args: argparse.Namespace) -> Path:
    return Path(args.token_file) if getattr(args, "token_file", None) else default_token_path()


def clinic(args: argparse.Namespace) -> "Store":
    """The clinic database of this command, opened once (and closed by ``close_clinic`` when the command ends)."""
    store = getattr(args, "clinic_store", None)
    if store is None:
        from clinic.store import open_store  # imported as the command runs: plan and schema never load the database

        store = args.clinic_store = open_store(getattr(args, "db", None))
    return store


def close_clinic(args: argparse.Namespace | None) -> None:
    """End the command's visit (when it has one) and close its database, once; the visit stays on ``args`` for what
    is said after (its ``session_id``)."""
    store = None if args is None else getattr(args, "clinic_store", None)
    if args is None or store is None:
        return
    args.clinic_store = None
    try:
        visit = getattr(args, "visit", None)
        if visit is not None:
            visit.end()
    finally:
        store.close()


def signed_in(args: argparse.Namespace, permission: Permission | None, action: str | None = None) -> User:
    """The user the token file stands for, who must hold ``permission`` (None: any signed-in user). Raises
    ``PermissionRefused`` (exit code 3) naming the role and ``login`` when nobody is signed in, the token is not
    accepted (expired, revoked, a disabled account), or the role may not do this; nothing was sent to a pump. With
    ``action`` (a change's audit action), a token not accepted is audited as a refused change."""
    from clinic.errors import SignInRefused

    path = token_path(args)
    try:
        _owner_only(path)
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise PermissionRefused(f"nobody is signed in (no token in {path}): sign in first with {LOGIN}",
                                step="sign in") from None
    except OSError as exc:
        raise InputError([("--token-file", f"cannot read {path}: {exc.strerror or exc}")], step="sign in") from None
    try:
        user = clinic(args).users.user_for_token(token)
    except SignInRefused as exc:
        message = f"{exc}: sign in again with {LOGIN}"
        if action is not None:
            _audit_refused_token(args, action, f"{message}; nothing was sent to the pump")
        raise PermissionRefused(message, step="sign in") from None
    if permission is not None:
        try:
            require(user, permission)
        except PermissionRefused as exc:
            raise PermissionRefused(f"{exc}; sign in as someone who may, with {LOGIN}", step=exc.step) from None
    return user


def _audit_refused_token(args: argparse.Namespace, action: str, message: str) -> None:
    """A change refused because its token was not accepted: a refused ``outcome`` record, in the journal first and
    then the clinic database (a failure there leaves it to be reconciled). Nobody is signed in, so it names no user:
    the message says why the token was refused."""
    from programmer.audit import AuditLog
    from programmer.cli.clinic_visit import journal_path

    record = {"record_id": uuid.uuid4().hex, "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
              "attempt_id": uuid.uuid4().hex, "action": action, "event": "outcome", "clinician": None, "user": None,
              "role": None, "session_id": None, "patient": None, "pump_serial": None, "outcome": "refused",
              "message": message}
    AuditLog(journal_path(args)).append(record)
    clinic(args).audit.append(record | {"format": AUDIT_FORMAT})


def _owner_only(path: Path) -> None:
    """A token is a bearer credential: whoever reads it is its user until it ends. One that the file's group or others
    may read or write is refused (``--token-file``, exit code 2) with the command that makes it the owner's only."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InputError([("--token-file", f"{path} may be read or written by others (mode {mode:04o}): a token must "
                                           f"be its owner's only; run chmod 600 {path}, or sign in again with "
                                           f"{LOGIN}")],
                         step="sign in")


def check_clinician(args: argparse.Namespace, user: User) -> None:
    """``--clinician NAME``, when given, must name the signed-in user (display name or username): the audit records
    the signed-in user, so a name that is someone else's is refused (exit code 3) rather than recorded wrongly."""
    given = getattr(args, "clinician", None)
    if given is None or given.strip() in (user.display_name, user.username):
        return
    raise PermissionRefused(f"--clinician {given.strip()!r} is not the signed-in user, {user.display_name} "
                            f"({user.username}); the audit records who is signed in: leave --clinician out, or sign "
                            f"in as that person with {LOGIN}; nothing was sent to the pump", step="sign in")


def read_password(path: str | None, option: str = "--password-file", confirm: bool = False) -> str:
    """The password: the first line of ``path`` (``-``: standard input), or asked for on the terminal (twice when
    ``confirm``). Without a file and without a terminal it is invalid input, never an empty password."""
    if path is not None:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError([(option, f"cannot read {path}: {exc.strerror or exc}")], step="read the password") \
                from None
        return text.split("\n", 1)[0].rstrip("\r")
    if not sys.stdin.isatty():
        raise InputError([(option, f"no terminal to ask for the password on: give {option} FILE (its first line is "
                                   "the password)")], step="read the password")
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password again: ") != password:
        raise InputError([(option, "the two passwords typed differ")], step="read the password")
    return password


def _make_private_directories(directory: Path) -> None:
    """Make ``directory`` and each missing parent 0700 (whatever the umask); directories that exist stay as they are."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700, exist_ok=True)
        os.chmod(made, 0o700)


def write_token(path: Path, token: str) -> None:
    """Write the token readable and writable by its owner only (0600, whatever the umask), in a directory only the
    owner may list when this creates it."""
    try:
        _make_private_directories(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(token + "\n")
    except OSError as exc:
        raise InputError([("--token-file", f"cannot write {path}: {exc.strerror or exc}")], step="sign in") from None

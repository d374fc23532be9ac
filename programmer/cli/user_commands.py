"""``pump-programmer users``, ``login``, ``logout`` and ``whoami``: the people who may use the programmer, and
signing in and out at the command line.

Why the first administrator is a command of its own: a new clinic database has nobody to sign in as, so
``users create-admin`` works only while there are no users at all, and every later account is added by a signed-in
administrator (``users add``). Passwords come from a file's first line (``--password-file``, for scripts; ``-`` for
standard input) or are asked for on the terminal; never from an option, which any user of the computer could read
in the process list. The accounts live in the clinic database (``clinic.users``); this module parses, prints and
leaves every failure to ``main``'s one handler.
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from commandline import finite
from programmer.cli.sign_in import (add_store_options, clinic, read_password, signed_in, token_path,
                                    write_token)
from programmer.cli.support import EXIT_OK, PROG
from programmer.errors import InputError
from programmer.roles import ROLE_PERMISSIONS, Permission, Role, User

LOGIN_HOURS_RANGE = (0.25, 24.0)
"""How long a sign-in at the command line may last: a quarter of an hour to a day (default 8 h, a shift)."""


def add_user_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``users`` (``create-admin``, ``add``, ``list``, ``disable``), ``login``, ``logout``, ``whoami``."""
    users = subparsers.add_parser("users", help="the people who may use the programmer: the first administrator, "
                                  "then accounts an administrator adds")
    commands = users.add_subparsers(dest="users_command", required=True, metavar="{create-admin,add,list,disable}",
                                    parser_class=type(users))

    create = commands.add_parser("create-admin", help="make the first administrator of a new clinic database "
                                 "(only while it has no users)")
    _account_options(create)
    create.set_defaults(handler=run_create_admin)

    add = commands.add_parser("add", help="add an account (an administrator signed in)")
    _account_options(add)
    add.add_argument("--role", required=True, choices=[role.value for role in Role], help="what the account may do")
    add.set_defaults(handler=run_add_user)

    listing = commands.add_parser("list", help="list the accounts (an administrator signed in)")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_options(listing, argparse.SUPPRESS)
    listing.set_defaults(handler=run_list_users)

    disable = commands.add_parser("disable", help="disable an account: it can no longer sign in, and its tokens "
                                  "stop working (an administrator signed in)")
    disable.add_argument("username", metavar="USER", help="the account's username")
    add_store_options(disable, argparse.SUPPRESS)
    disable.set_defaults(handler=run_disable_user)

    login = subparsers.add_parser("login", help="sign in: check the password and keep a token for the next "
                                  "commands (file mode 0600)")
    login.add_argument("--user", required=True, metavar="USER", help="the account's username")
    login.add_argument("--password-file", metavar="FILE", help="read the password from FILE's first line (- for "
                       "standard input); without it the password is asked for on the terminal")
    login.add_argument("--hours", type=finite, default=8.0, metavar="H",
                       help=f"how long the sign-in lasts, {LOGIN_HOURS_RANGE[0]:g} to {LOGIN_HOURS_RANGE[1]:g} h "
                            "(default 8)")
    login.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_options(login, argparse.SUPPRESS)
    login.set_defaults(handler=run_login)

    logout = subparsers.add_parser("logout", help="sign out: revoke the token and delete its file")
    add_store_options(logout, argparse.SUPPRESS)
    logout.set_defaults(handler=run_logout)

    whoami = subparsers.add_parser("whoami", help="say who is signed in, with which role and permissions")
    whoami.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_options(whoami, argparse.SUPPRESS)
    whoami.set_defaults(handler=run_whoami)


def _account_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, metavar="USER", help="the account's username (what login takes)")
    parser.add_argument("--name", required=True, metavar="NAME", help="the name records and reports show "
                        "(e.g. Dr A. Osei)")
    parser.add_argument("--password-file", metavar="FILE", help="read the password from FILE's first line (- for "
                        "standard input); without it the password is asked for on the terminal, twice")
    add_store_options(parser, argparse.SUPPRESS)


def user_json(user: User) -> dict:
    return {"username": user.username, "display_name": user.display_name, "role": user.role.value,
            "permissions": sorted(permission.value for permission in ROLE_PERMISSIONS[user.role])}


def run_create_admin(args: argparse.Namespace) -> int:
    password = read_password(args.password_file, confirm=True)
    user = clinic(args).users.create_first_administrator(args.user, args.name, password)
    print(f"created the first administrator {user.display_name} ({user.username}) in {clinic(args).url}; sign in "
          f"with {PROG} login --user {user.username}, then add the others with {PROG} users add")
    return EXIT_OK


def run_add_user(args: argparse.Namespace) -> int:
    by = signed_in(args, Permission.MANAGE_USERS)
    password = read_password(args.password_file, confirm=True)
    user = clinic(args).users.add(by, args.user, args.name, Role(args.role), password)
    print(f"added {user.display_name} ({user.username}), {user.role.value}")
    return EXIT_OK


def run_list_users(args: argparse.Namespace) -> int:
    signed_in(args, Permission.MANAGE_USERS)
    users = clinic(args).users.list()
    if args.json:
        print(json.dumps({"users": [{"username": info.username, "display_name": info.display_name,
                                     "role": info.role.value, "disabled": info.disabled} for info in users]},
                         indent=2))
        return EXIT_OK
    for info in users:
        print(f"{info.username:<16} {info.role.value:<14} {info.display_name}{'  (disabled)' if info.disabled else ''}")
    return EXIT_OK


def run_disable_user(args: argparse.Namespace) -> int:
    by = signed_in(args, Permission.MANAGE_USERS)
    clinic(args).users.disable(by, args.username)
    print(f"disabled {args.username}: it can no longer sign in, and its tokens no longer work")
    return EXIT_OK


def run_login(args: argparse.Namespace) -> int:
    low, high = LOGIN_HOURS_RANGE
    if not low <= args.hours <= high:
        raise InputError([("--hours", f"{args.hours:g} h is outside {low:g} to {high:g} h")])
    password = read_password(args.password_file)
    users = clinic(args).users
    user = users.authenticate(args.user, password)
    path = token_path(args)
    write_token(path, users.issue_token(user, timedelta(hours=args.hours)))
    if args.json:
        print(json.dumps(user_json(user) | {"hours": args.hours, "token_file": str(path)}, indent=2))
    else:
        print(f"signed in as {user.display_name} ({user.username}), {user.role.value}, for {args.hours:g} h; the "
              f"token is in {path} (readable by you alone); {PROG} logout signs out")
    return EXIT_OK


def run_logout(args: argparse.Namespace) -> int:
    path = token_path(args)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        print(f"nobody was signed in (no token in {path})")
        return EXIT_OK
    clinic(args).users.revoke_token(token)
    path.unlink()
    print(f"signed out: the token is revoked and {path} deleted")
    return EXIT_OK


def run_whoami(args: argparse.Namespace) -> int:
    user = signed_in(args, None)
    if args.json:
        print(json.dumps(user_json(user) | {"token_file": str(token_path(args)), "db": clinic(args).url}, indent=2))
        return EXIT_OK
    permissions = ", ".join(sorted(permission.value for permission in ROLE_PERMISSIONS[user.role]))
    print(f"{user.display_name} ({user.username}), {user.role.value}: may {permissions}")
    return EXIT_OK

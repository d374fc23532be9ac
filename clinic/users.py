"""The people who sign in: accounts with a role and an Argon2id password, and the short-lived tokens a command line
keeps between commands.

Why tokens are stored hashed: the token file on a workstation is the secret; the database keeps only its SHA-256,
so a copy of the database signs no one in. Why one wording for every refused password: the answer must not tell a
guesser which user names exist or which accounts are disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.clock import utc_now
from clinic.database import Database
from clinic.errors import SignInRefused
from clinic.mirror import mirror, mirror_id, password_digest, require_confirmed, token_problem, user_problem
from clinic.models import TokenRow, UserRow
from clinic.passwords import hash_password, verify_password
from clinic.record_keys import KEY_LENGTH, record_key
from programmer.errors import InputError, PermissionRefused
from programmer.roles import Permission, Role, User, require

REFUSED_PASSWORD = "the user name or the password is wrong, or the account is disabled"
"""What every refused password sign-in says, whatever the reason."""
MIN_PASSWORD_CHARS = 12
COMMON_PASSWORDS = frozenset({
    "password1234", "password12345", "passwordpassword", "123456789012", "1234567890123", "12345678901234",
    "qwertyuiopas", "qwertyuiop123", "qwerty123456", "iloveyou1234", "letmein12345", "welcome12345",
    "changeme1234", "administrator", "adminadmin12", "abcdefghijkl", "abc123456789", "111111111111",
    "000000000000", "aaaaaaaaaaaa", "passw0rd1234", "p@ssword1234", "trustno11234", "monkey123456",
})
"""A short list of the passwords guessed first; the list an attacker tries is longer, so a passphrase is asked for."""


@dataclass(frozen=True)
class UserInfo:
    username: str
    display_name: str
    role: Role
    disabled: bool


class Users:
    def __init__(self, database: Database):
        self._database = database
        self._absent_user_hash: str | None = None  # made at the first unknown name: opening a store costs no hash

    def count(self) -> int:
        with self._database.read() as session:
            return session.scalar(select(func.count()).select_from(UserRow)) or 0

    def create_first_administrator(self, username: str, display_name: str, password: str) -> User:
        """The first account of a new database, an administrator; refused once any account exists."""
        with self._database.write() as session:
            if session.scalar(select(func.count()).select_from(UserRow)):
                raise PermissionRefused("the first administrator exists already: an administrator signs in and adds "
                                        "users", step="create the first administrator")
            return self._insert(session, username, display_name, Role.ADMINISTRATOR, password, None)

    def add(self, by: User, username: str, display_name: str, role: Role, password: str) -> User:
        require(by, Permission.MANAGE_USERS)
        with self._database.write() as session:
            return self._insert(session, username, display_name, role, password, by.username)

    def disable(self, by: User, username: str) -> None:
        require(by, Permission.MANAGE_USERS)
        with self._database.write() as session:
            row = session.scalar(select(UserRow).where(UserRow.username_key == record_key(username)))
            if row is None:
                raise InputError([("username", f"no user is named {username!r}")], step="disable a user")
            if row.disabled_at is None:
                require_confirmed("users", user_problem(session, row))
                if row.role == Role.ADMINISTRATOR.value and _active_administrators(session) <= 1:
                    raise PermissionRefused(f"{row.username} is the last active administrator: add another "
                                            "administrator first, or no one could manage the accounts",
                                            step="disable a user")
                row.disabled_at = utc_now()
                mirror(session, "user_disabled", by.username, mirror_id("user-disabled", row.username),
                       subject=row.username, disabled_at=row.disabled_at)

    def list(self) -> list[UserInfo]:
        with self._database.read() as session:
            rows = session.scalars(select(UserRow).order_by(UserRow.username))
            return [UserInfo(row.username, row.display_name, Role(row.role), row.disabled_at is not None)
                    for row in rows]

    def authenticate(self, username: str, password: str) -> User:
        """The user whose password this is; SignInRefused, in one wording, for anything else."""
        with self._database.read() as session:
            row = session.scalar(select(UserRow).where(UserRow.username_key == record_key(username)))
        if row is None:
            if self._absent_user_hash is None:
                self._absent_user_hash = hash_password(secrets.token_urlsafe(16))
            verify_password(password, self._absent_user_hash)  # the same work, so the time tells nothing either
            raise SignInRefused(REFUSED_PASSWORD)
        if not verify_password(password, row.password_hash) or row.disabled_at is not None:
            raise SignInRefused(REFUSED_PASSWORD)
        with self._database.read() as session:
            require_confirmed("users", user_problem(session, row))
        return _user(row)

    def issue_token(self, user: User, lifetime: timedelta = timedelta(hours=8)) -> str:
        """A new random token signing ``user`` in until ``lifetime`` from now; only its SHA-256 is stored."""
        if lifetime <= timedelta(0):
            raise InputError([("lifetime", f"a token must last some time, not {lifetime}")], step="issue a token")
        token = secrets.token_urlsafe(32)
        now = utc_now()
        with self._database.write() as session:
            row = session.scalar(select(UserRow).where(UserRow.username_key == record_key(user.username)))
            if row is None or row.disabled_at is not None:
                raise SignInRefused(f"{user.username} has no account that may sign in")
            require_confirmed("users", user_problem(session, row))
            digest = _token_hash(token)
            session.add(TokenRow(user_id=row.id, token_hash=digest, created_at=now,
                                 expires_at=now + lifetime, revoked_at=None))
            mirror(session, "token_issued", user.username, mirror_id("token", digest), subject=user.username,
                   token_hash=digest, expires_at=now + lifetime)
        return token

    def user_for_token(self, token: str) -> User:
        """The user a token signs in; SignInRefused saying why when it is unknown, expired, revoked or the account
        was disabled, and to sign in again."""
        with self._database.read() as session:
            found = session.execute(select(TokenRow, UserRow).join(UserRow, TokenRow.user_id == UserRow.id)
                                    .where(TokenRow.token_hash == _token_hash(token))).first()
            if found is None:
                raise SignInRefused("the sign-in token is not known to this clinic database: sign in again (login)")
            token_row, user_row = found
            require_confirmed("tokens", token_problem(session, token_row, user_row.username, shortened_ok=True))
            require_confirmed("users", user_problem(session, user_row))
        if token_row.revoked_at is not None:
            raise SignInRefused("the sign-in token was revoked (logout): sign in again (login)")
        if token_row.expires_at <= utc_now():
            raise SignInRefused(f"the sign-in token expired at {token_row.expires_at.isoformat(timespec='seconds')}: "
                                "sign in again (login)")
        if user_row.disabled_at is not None:
            raise SignInRefused(f"the account {user_row.username} is disabled")
        return _user(user_row)

    def revoke_token(self, token: str) -> None:
        """Revoke the token (one that is unknown or already revoked: nothing to do)."""
        with self._database.write() as session:
            found = session.execute(select(TokenRow, UserRow.username).join(UserRow, TokenRow.user_id == UserRow.id)
                                    .where(TokenRow.token_hash == _token_hash(token))).first()
            if found is not None and found[0].revoked_at is None:
                row, username = found
                row.revoked_at = utc_now()
                mirror(session, "token_revoked", username, mirror_id("token-revoked", row.token_hash),
                       subject=username, token_hash=row.token_hash, revoked_at=row.revoked_at)

    @staticmethod
    def _insert(session: Session, username: str, display_name: str, role: Role, password: str,
                by: str | None) -> User:
        problems = _account_problems(username, display_name, password)
        if problems:
            raise InputError(problems, step="add a user")
        existing = session.scalar(select(UserRow.username).where(UserRow.username_key == record_key(username)))
        if existing is not None:
            raise InputError([("username", f"a user named {existing!r} exists already"
                                           + ("" if existing == username else f" ({username!r} is the same name: "
                                              "case and width are not told apart)"))], step="add a user")
        encoded = hash_password(password)
        session.add(UserRow(username=username, username_key=record_key(username), display_name=display_name,
                            role=Role(role).value, password_hash=encoded, created_at=utc_now(), disabled_at=None))
        try:
            session.flush()
        except IntegrityError:
            raise InputError([("username", f"a user named {username!r} exists already")], step="add a user") from None
        mirror(session, "user_added", by or username, mirror_id("user", username), subject=username,
               display_name=display_name, role=Role(role).value, password=password_digest(encoded))
        return User(username, display_name, Role(role))


def _account_problems(username: str, display_name: str, password: str) -> list[tuple[str, str]]:
    problems = []
    if (not username or username != username.strip() or any(c.isspace() for c in username) or len(username) > 64
            or len(record_key(username)) > KEY_LENGTH):
        problems.append(("username", f"{username!r} is not a user name: 1 to 64 characters, no spaces"))
    if not display_name.strip() or len(display_name) > 128:
        problems.append(("display_name", "a display name is 1 to 128 characters"))
    broken = password_problem(username, password)
    if broken:
        problems.append(("password", broken))
    return problems


def password_problem(username: str, password: str) -> str | None:
    """The password rule ``password`` breaks (None: it passes): at least 12 characters, not only spaces, not
    containing the user name (of 3 characters or more), not a common password, not one character repeated."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"a password is at least {MIN_PASSWORD_CHARS} characters long (got {len(password)})"
    if not password.strip():
        return "a password is not only spaces"
    folded = password.casefold()
    if len(username) >= 3 and username.casefold() in folded:
        return "a password does not contain the user name"
    if folded in COMMON_PASSWORDS or folded.strip() in COMMON_PASSWORDS or len(set(folded)) <= 2:
        return "a password is not a common one (nor one or two characters repeated): choose a passphrase"
    return None


def _active_administrators(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(UserRow).where(
        UserRow.role == Role.ADMINISTRATOR.value, UserRow.disabled_at.is_(None))) or 0


def _user(row: UserRow) -> User:
    return User(row.username, row.display_name, Role(row.role))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()

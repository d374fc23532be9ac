"""Users: the first administrator, accounts added and disabled by an administrator, sign-in by password in one
wording for every refusal, and tokens that expire, are revoked, and die with a disabled account."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from clinic.errors import SignInRefused
from clinic.store import open_store
from clinic.users import REFUSED_PASSWORD, UserInfo
from programmer.errors import ErrorKind, InputError, PermissionRefused
from programmer.roles import Role, User
from tests.support.clinic_fixtures import ADA, KIM, OSEI, PASSWORD


def test_the_first_administrator_is_created_once_only(empty_store_url):
    store = open_store(empty_store_url)
    assert store.users.count() == 0
    admin = store.users.create_first_administrator("root", "Ruth Root", "a long first password")
    assert admin == User("root", "Ruth Root", Role.ADMINISTRATOR)
    assert store.users.count() == 1
    with pytest.raises(PermissionRefused, match="the first administrator exists already"):
        store.users.create_first_administrator("other", "Other Admin", "another long password")
    assert store.users.authenticate("root", "a long first password") == admin
    store.close()


def test_an_administrator_adds_users_and_no_one_else_may(store):
    added = store.users.add(ADA, "lee", "Dr B. Lee", Role.CLINICIAN, "a long clinician password")
    assert added == User("lee", "Dr B. Lee", Role.CLINICIAN)
    assert UserInfo("lee", "Dr B. Lee", Role.CLINICIAN, False) in store.users.list()
    with pytest.raises(PermissionRefused, match=r"^Dr A. Osei \(osei\) is signed in as a clinician, and a clinician "
                                                r"may not manage users$"):
        store.users.add(OSEI, "mo", "Mo", Role.ADMINISTRATOR, "mo's long password")
    assert store.users.count() == 5


def test_a_user_name_is_taken_once_and_a_short_password_is_refused_naming_the_field(store):
    with pytest.raises(InputError, match="^username: a user named 'osei' exists already$"):
        store.users.add(ADA, "osei", "Another Osei", Role.CLINICIAN, "a long enough password")
    with pytest.raises(InputError) as failed:
        store.users.add(ADA, "new user", "", Role.CLINICIAN, "short")
    assert [field for field, _ in failed.value.problems] == ["username", "display_name", "password"]
    assert failed.value.problems[2][1] == "a password is at least 12 characters long (got 5)"


@pytest.mark.parametrize("username, password", [("osei", "wrong password!"), ("nobody", PASSWORD), ("kim", PASSWORD)])
def test_every_refused_password_reads_the_same(store, username, password):
    store.users.disable(ADA, "kim")
    with pytest.raises(SignInRefused) as failed:
        store.users.authenticate(username, password)
    assert (str(failed.value), failed.value.kind) == (REFUSED_PASSWORD, ErrorKind.REFUSED)


def test_the_right_password_signs_in_and_a_disabled_account_is_listed_so(store):
    assert store.users.authenticate("osei", PASSWORD) == OSEI
    store.users.disable(ADA, "osei")
    assert UserInfo("osei", "Dr A. Osei", Role.CLINICIAN, True) in store.users.list()
    with pytest.raises(PermissionRefused):
        store.users.disable(KIM, "ada")
    with pytest.raises(InputError, match="^username: no user is named 'ghost'$"):
        store.users.disable(ADA, "ghost")


def test_a_token_signs_its_user_in_until_revoked(store):
    token = store.users.issue_token(OSEI)
    assert len(token) >= 43 and store.users.user_for_token(token) == OSEI
    store.users.revoke_token(token)
    with pytest.raises(SignInRefused, match=r"^the sign-in token was revoked \(logout\): sign in again \(login\)$"):
        store.users.user_for_token(token)
    with pytest.raises(SignInRefused, match="^the sign-in token is not known to this clinic database"):
        store.users.user_for_token("made-up")


def test_only_the_tokens_hash_is_stored(store):
    token = store.users.issue_token(KIM)
    with store.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM tokens")).scalars().all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_an_expired_token_is_refused_saying_when_it_expired(store):
    token = store.users.issue_token(OSEI, timedelta(microseconds=1))
    [expiry] = [entry.record["expires_at"] for entry in store.audit.query(action="token_issued")]
    shown = datetime.fromisoformat(expiry).isoformat(timespec="seconds").replace("+", "\\+")
    with pytest.raises(SignInRefused, match=rf"^the sign-in token expired at {shown}: sign in again"):
        store.users.user_for_token(token)


def test_a_token_dies_with_its_disabled_account_and_none_is_issued_to_one(store):
    token = store.users.issue_token(OSEI)
    store.users.disable(ADA, "osei")
    with pytest.raises(SignInRefused, match="^the account osei is disabled$"):
        store.users.user_for_token(token)
    with pytest.raises(SignInRefused):
        store.users.issue_token(OSEI)
    with pytest.raises(InputError, match="^lifetime: a token must last some time"):
        store.users.issue_token(KIM, timedelta(0))

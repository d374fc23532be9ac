"""Passwords: Argon2id in the PHC string format, salted, carrying their cost; the shipped cost at OWASP's floor."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from clinic import passwords
from clinic.passwords import Argon2Cost, hash_password, verify_password


def test_a_hash_verifies_its_password_only():
    encoded = hash_password("correct horse battery staple")
    assert verify_password("correct horse battery staple", encoded)
    assert not verify_password("correct horse battery stapler", encoded)


def test_a_hash_is_argon2id_in_phc_form_with_its_cost_and_a_fresh_salt():
    first, second = hash_password("same password"), hash_password("same password")
    assert first.startswith("$argon2id$v=19$m=8,t=1,p=1$")  # the tests' cost (low_kdf_cost)
    assert first != second  # salted
    _, _, _, _, salt, digest = first.split("$")
    assert len(base64.b64decode(salt + "==")) == 16 and len(base64.b64decode(digest + "=")) == 32


def test_cryptographys_own_phc_reader_accepts_the_hash():
    Argon2id.verify_phc_encoded(b"some password 1", hash_password("some password 1"))


def test_a_hash_made_at_another_cost_still_verifies(monkeypatch):
    old = hash_password("an older password")
    monkeypatch.setattr(passwords, "COST", Argon2Cost(memory_kib=64, iterations=2, lanes=2))
    assert hash_password("x" * 12).startswith("$argon2id$v=19$m=64,t=2,p=2$")
    assert verify_password("an older password", old)


def test_anything_that_is_not_a_hash_verifies_nothing():
    for garbage in ("", "plain", "$argon2i$v=19$m=8,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=x,t=1,p=1$AAAA$AAAA",
                    "$argon2id$v=19$m=8,t=1,p=1$!!!$AAAA", "$argon2id$v=19$m=0,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA"):
        assert not verify_password("password", garbage)


def test_the_shipped_cost_is_at_least_owasps_floor():
    cost = passwords.SHIPPED_COST
    assert (cost.memory_kib >= 19 * 1024, cost.iterations >= 2, cost.lanes) == (True, True, 1)


def test_a_hash_at_the_shipped_cost_says_so(monkeypatch):
    monkeypatch.setattr(passwords, "COST", passwords.SHIPPED_COST)
    encoded = hash_password("the real cost, once")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and verify_password("the real cost, once", encoded)

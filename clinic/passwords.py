"""Password hashing: Argon2id, a memory-hard KDF, from ``cryptography`` (already a dependency for the link).

Why memory-hard: a stolen database must not give the passwords back at the speed of a graphics card. The shipped
cost is OWASP's floor for Argon2id (19 MiB of memory, 2 passes, 1 lane; some 60 ms on one core). Each hash is stored in
the PHC string format, ``$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`` (unpadded base64), so it carries its own
cost and salt: a later, higher ``COST`` applies to new passwords while old ones still verify. Tests lower ``COST``
(tests/support/clinic_fixtures.py) so a sign-in costs them nothing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id


@dataclass(frozen=True)
class Argon2Cost:
    memory_kib: int
    iterations: int
    lanes: int


SHIPPED_COST = Argon2Cost(memory_kib=19 * 1024, iterations=2, lanes=1)
"""OWASP's minimum for Argon2id (m=19 MiB, t=2, p=1)."""
COST = SHIPPED_COST
"""The cost of new hashes."""

SALT_BYTES = 16
HASH_BYTES = 32


def hash_password(password: str) -> str:
    """A new salted Argon2id hash of ``password`` at the current ``COST``, as a PHC string."""
    salt = os.urandom(SALT_BYTES)
    cost = COST
    digest = _derive(password, salt, cost, HASH_BYTES)
    return (f"$argon2id$v=19$m={cost.memory_kib},t={cost.iterations},p={cost.lanes}"
            f"${_b64(salt)}${_b64(digest)}")


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the PHC string ``encoded`` (False for a string that is not one)."""
    try:
        _, algorithm, version, params, salt_text, digest_text = encoded.split("$")
        fields = dict(item.split("=", 1) for item in params.split(","))
        cost = Argon2Cost(int(fields["m"]), int(fields["t"]), int(fields["p"]))
        salt, digest = _unb64(salt_text), _unb64(digest_text)
        if algorithm != "argon2id" or version != "v=19" or not digest:
            return False
        derived = _derive(password, salt, cost, len(digest))
    except (ValueError, KeyError, OverflowError, binascii.Error):
        return False
    return hmac.compare_digest(derived, digest)


def _derive(password: str, salt: bytes, cost: Argon2Cost, length: int) -> bytes:
    kdf = Argon2id(salt=salt, length=length, iterations=cost.iterations, lanes=cost.lanes,
                   memory_cost=cost.memory_kib)
    return kdf.derive(password.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)

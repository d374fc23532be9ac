"""Pairing a programmer with a pump: a password-authenticated key exchange over the pump's one-time code.

Why a PAKE, and not X25519 with a MAC over the code: the code has six digits, a million values. With a plain
Diffie-Hellman exchange confirmed by a MAC keyed with the code, a man in the middle that plays the pump to the
programmer receives a MAC it can test every code against offline, in well under a second, and then pairs
with the real pump inside the pairing window. SPAKE2 (Abdalla and Pointcheval, 2005) binds the code into the
exchange itself: each run lets an attacker test exactly one guess, online, so the pump's limit on attempts
per window (``MAX_ATTEMPTS``) bounds the odds at a few in a million. The primitive is the ``spake2`` package
(Brian Warner's implementation over Ed25519, the one Magic Wormhole uses), not code of ours; ``cryptography``
provides HKDF and HMAC.

The exchange, two round trips (docs/protocol.md, pairing):

1. programmer -> pump: its id and its SPAKE2 message (side A);
2. pump -> programmer: its SPAKE2 message (side B) and its confirmation, a MAC over the transcript;
3. the programmer checks the pump's confirmation (a wrong code fails here) and sends its own;
4. the pump checks it and keeps the pair key; so does the programmer.

Both sides derive the same 32-byte pair key from the SPAKE2 key and the transcript; it never crosses the link.
The transcript names both parties (the programmer's id, the pump's serial) and both messages, so a key or a
confirmation of one pairing is worth nothing in another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CODE_DIGITS = 6
"""A pairing code is this many decimal digits, shown by the pump while its pairing window is open."""

MAX_ATTEMPTS = 3
"""Pairing attempts a pump takes in one window; after the last failure the window closes."""

MESSAGE_BYTES = 33
"""Length of a SPAKE2 message over Ed25519 (a side byte and a 32-byte point)."""

KEY_BYTES = 32
CONFIRM_BYTES = 32
MAX_ID_BYTES = 64
"""Longest programmer id or pump serial, UTF-8 bytes."""

_PROGRAMMER_SIDE = b"itb-programmer:"
_PUMP_SIDE = b"itb-pump:"


class PairingFailed(Exception):
    """The exchange did not produce a shared key: a wrong code, a changed message, or a malformed one."""


def new_code() -> str:
    """A fresh pairing code from the operating system's random source: six digits, leading zeros kept."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def check_code(code: str) -> bytes:
    """The code as the exchange uses it; ValueError naming the rule for anything but six digits 0-9."""
    if len(code) != CODE_DIGITS or not all("0" <= c <= "9" for c in code):
        raise ValueError(f"a pairing code is {CODE_DIGITS} digits 0-9, as the pump shows it (got {code!r})")
    return code.encode("ascii")


def _party(prefix: bytes, name: str) -> bytes:
    raw = name.encode("utf-8")
    if not raw or len(raw) > MAX_ID_BYTES:
        raise ValueError(f"an id of 1 to {MAX_ID_BYTES} UTF-8 bytes is needed (got {len(raw)})")
    return prefix + raw


@dataclass(frozen=True)
class _Transcript:
    """What both sides saw, in one fixed order; every derived value is bound to all of it."""

    programmer: bytes
    pump: bytes
    message_a: bytes
    message_b: bytes

    def digest(self) -> bytes:
        parts = (self.programmer, self.pump, self.message_a, self.message_b)
        return hashlib.sha256(b"".join(len(p).to_bytes(2, "big") + p for p in parts)).digest()

    def confirmation(self, key: bytes, who: bytes) -> bytes:
        return hmac.new(key, b"itb pairing confirm " + who + self.digest(), hashlib.sha256).digest()

    def pair_key(self, key: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=self.digest(),
                    info=b"itb pair key v1").derive(key)


def _spake2():
    """The ``spake2`` package, imported on the first pairing only: loading it builds its group's constants and
    reads package metadata (about 70 ms), which every start of the programmer and of the emulator would pay,
    and pairing is rare."""
    import spake2  # type: ignore[import-untyped]
    import spake2.ed25519_basic  # type: ignore[import-untyped]
    import spake2.spake2  # type: ignore[import-untyped]

    return spake2


def _finish(side, message: bytes) -> bytes:
    spake2 = _spake2()
    if len(message) != MESSAGE_BYTES:
        raise PairingFailed(f"a pairing message is {MESSAGE_BYTES} bytes (got {len(message)})")
    try:
        return side.finish(message)
    except (spake2.spake2.SPAKEError, spake2.ed25519_basic.NotOnCurve, ValueError) as exc:  # spake2 on a bad message
        raise PairingFailed(f"the pairing message is not valid: {exc}") from None


class _Side:
    """What both sides hold for one attempt: both parties' names, their SPAKE2 side and its first message."""

    def __init__(self, side_name: str, code: str, programmer_id: str, pump_serial: str):
        spake_side = getattr(_spake2(), side_name)
        self._programmer = _party(_PROGRAMMER_SIDE, programmer_id)
        self._pump = _party(_PUMP_SIDE, pump_serial)
        self._spake = spake_side(check_code(code), idA=self._programmer, idB=self._pump)
        self._message = self._spake.start()


class ProgrammerPairing(_Side):
    """The programmer's side: ``start`` -> send; ``receive`` the pump's answer -> send the confirmation; then
    ``pair_key``. One object, one attempt."""

    def __init__(self, code: str, programmer_id: str, pump_serial: str):
        super().__init__("SPAKE2_A", code, programmer_id, pump_serial)
        self.pair_key: bytes | None = None

    def start(self) -> bytes:
        """The message to send first (step 1)."""
        return self._message

    def receive(self, pump_message: bytes, pump_confirmation: bytes) -> bytes:
        """Step 3: check the pump's confirmation, keep the pair key, and return ours for the pump. A wrong code
        (on either side) or a message changed on the way raises PairingFailed and keeps no key."""
        transcript = _Transcript(self._programmer, self._pump, self._message, pump_message)
        key = _finish(self._spake, pump_message)
        if not hmac.compare_digest(transcript.confirmation(key, _PUMP_SIDE), pump_confirmation):
            raise PairingFailed("the pump's confirmation does not match: the code is wrong, or something on the "
                                "link changed the exchange")
        self.pair_key = transcript.pair_key(key)
        return transcript.confirmation(key, _PROGRAMMER_SIDE)


class PumpPairing(_Side):
    """The pump's side: ``answer`` the programmer's message (step 2); ``confirm`` its confirmation (step 4),
    which returns the pair key."""

    def __init__(self, code: str, programmer_id: str, pump_serial: str):
        super().__init__("SPAKE2_B", code, programmer_id, pump_serial)
        self._expected: bytes | None = None
        self._pair_key: bytes | None = None

    def answer(self, programmer_message: bytes) -> tuple[bytes, bytes]:
        """Step 2: our message and our confirmation."""
        transcript = _Transcript(self._programmer, self._pump, programmer_message, self._message)
        key = _finish(self._spake, programmer_message)
        self._expected = transcript.confirmation(key, _PROGRAMMER_SIDE)
        self._pair_key = transcript.pair_key(key)
        return self._message, transcript.confirmation(key, _PUMP_SIDE)

    def confirm(self, programmer_confirmation: bytes) -> bytes:
        """Step 4: the pair key when the programmer's confirmation matches; PairingFailed otherwise."""
        if self._expected is None or self._pair_key is None:
            raise PairingFailed("no pairing message was answered before this confirmation")
        if not hmac.compare_digest(self._expected, programmer_confirmation):
            raise PairingFailed("the programmer's confirmation does not match: the code is wrong")
        return self._pair_key

"""Authenticated, encrypted frames for one session between a paired programmer and pump.

Each session gets its own keys, one per direction, derived (HKDF-SHA256) from the pair key and a fresh nonce
from each side, so that nothing recorded in one session means anything in another, and a frame sent by one
side can never be passed back to it as if the other had sent it. Each frame's payload is sealed with
ChaCha20-Poly1305 (RFC 8439, from ``cryptography``) under a counter that starts at 1 and goes up by one a
frame: the counter is the AEAD nonce (so no nonce is ever used twice under one key) and travels in clear in
front of the ciphertext; the frame's header is the associated data, so its command, status and sequence
number cannot be changed either.

A receiver takes a counter only above the last one it accepted. A frame with the same counter as the last
is a resend of that frame (the link is stop-and-wait, docs/protocol.md section 10): it is authentic, and it
is reported as a repeat so the pump answers it from its answer cache and never acts twice. Anything older,
forged or cut short is rejected, counted, and changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_NONCE_BYTES = 16
"""Each side's fresh random contribution to a session's keys."""
COUNTER_BYTES = 8
TAG_BYTES = 16
OVERHEAD_BYTES = COUNTER_BYTES + TAG_BYTES
"""What sealing adds to a payload: the counter in front, the authentication tag behind."""
MAX_COUNTER = 2 ** 64 - 1
_KEY_BYTES = 32
_SESSION_ID_BYTES = 8


class FrameRejected(Exception):
    """A sealed payload that is not accepted; ``reason`` is one of ``REASONS``."""

    REASONS = ("truncated", "replayed", "forged")

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SessionKeys:
    """One session's keys: the programmer's frames to the pump, the pump's frames to the programmer, the key of
    the pump's HELLO confirmation, and an identifier both sides can log (derived too: it tells nothing about the
    keys)."""

    to_pump: bytes
    to_programmer: bytes
    confirm: bytes
    session_id: bytes


def derive_session_keys(pair_key: bytes, programmer_nonce: bytes, pump_nonce: bytes, programmer_id: str,
                        pump_serial: str) -> SessionKeys:
    """The keys of the session opened with these nonces; ValueError for a nonce of the wrong length."""
    for name, nonce in (("programmer", programmer_nonce), ("pump", pump_nonce)):
        if len(nonce) != SESSION_NONCE_BYTES:
            raise ValueError(f"the {name}'s session nonce is {SESSION_NONCE_BYTES} bytes (got {len(nonce)})")
    parties = b"".join(len(raw).to_bytes(2, "big") + raw
                       for raw in (programmer_id.encode("utf-8"), pump_serial.encode("utf-8")))
    material = HKDF(algorithm=hashes.SHA256(), length=3 * _KEY_BYTES + _SESSION_ID_BYTES,
                    salt=programmer_nonce + pump_nonce, info=b"itb session keys v1" + parties).derive(pair_key)
    to_pump, to_programmer, confirm = (material[start:start + _KEY_BYTES] for start in range(0, 3 * _KEY_BYTES, _KEY_BYTES))
    return SessionKeys(to_pump, to_programmer, confirm, material[3 * _KEY_BYTES:])


def _nonce(counter: int) -> bytes:
    return counter.to_bytes(12, "big")


class Sealer:
    """Seals what one side sends in one direction of one session."""

    def __init__(self, key: bytes):
        self._aead = ChaCha20Poly1305(key)
        self.counter = 0

    def seal(self, header: bytes, payload: bytes) -> bytes:
        """The counter, then the payload encrypted and authenticated together with ``header``."""
        if self.counter >= MAX_COUNTER:
            raise OverflowError("the session has sealed 2**64 - 1 frames: start a new session")
        self.counter += 1
        return self.counter.to_bytes(COUNTER_BYTES, "big") + self._aead.encrypt(_nonce(self.counter), payload,
                                                                                header)


@dataclass(frozen=True)
class Opened:
    payload: bytes
    counter: int
    repeat: bool
    """The same counter as the last frame accepted: a resend of it, to be answered, never acted on, again."""


@dataclass
class Opener:
    """Opens what arrives in one direction of one session, and counts what it rejects, by reason."""

    key: bytes
    last: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._aead = ChaCha20Poly1305(self.key)

    def open(self, header: bytes, sealed: bytes) -> Opened:
        """The payload of an authentic frame not older than the last; FrameRejected (and nothing changed but
        the count of rejections) otherwise."""
        try:
            return self._open(header, sealed)
        except FrameRejected as exc:
            self.rejected[exc.reason] += 1
            raise

    def _open(self, header: bytes, sealed: bytes) -> Opened:
        if len(sealed) < OVERHEAD_BYTES:
            raise FrameRejected("truncated", f"a sealed payload is at least {OVERHEAD_BYTES} bytes "
                                             f"(got {len(sealed)})")
        counter = int.from_bytes(sealed[:COUNTER_BYTES], "big")
        if counter == 0 or counter < self.last:
            raise FrameRejected("replayed", f"frame counter {counter} is not after the last accepted, {self.last}: "
                                            "a replayed or reordered frame")
        try:
            payload = self._aead.decrypt(_nonce(counter), sealed[COUNTER_BYTES:], header)
        except InvalidTag:
            raise FrameRejected("forged", "the frame does not authenticate under this session's key: changed, "
                                          "cut, or from another session") from None
        repeat = counter == self.last
        self.last = counter
        return Opened(payload, counter, repeat)

"""Protocol version 2's secure session: the HELLO that opens it and the sealed frames that follow.

Both ends use this module, so a frame is sealed and opened the same way on either side (docs/protocol.md,
section 6). The keys come from ``protocol.session_crypto`` (one per direction, from the pair key and both
sides' fresh nonces); this module only says what goes into them and onto the wire:

- HELLO (in clear) carries the programmer's id and nonce; a pump that knows the programmer answers its own
  nonce and a confirmation, an HMAC over both HELLO payloads under the session's confirm key. The programmer
  checks it before it sends anything sealed, so it never talks to a pump that does not hold the pair key, and
  nothing of either HELLO (the encoding chosen, the serial) can be changed on the way unnoticed.
- Every later frame's payload (JSON, or a compact page) is sealed: ``SEALED_MARK``, then the frame counter and
  the ChaCha20-Poly1305 ciphertext with the frame header (version, seq, command, status) as associated data.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, replace

from protocol.frame import SEALED_MARK, Frame, canonical_json, header_bytes, payload_bytes, with_payload
from protocol.session_crypto import SESSION_NONCE_BYTES, FrameRejected, Opener, Sealer, SessionKeys, derive_session_keys

PROGRAMMER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A programmer id: 1 to 64 letters, digits, dots, dashes and underscores, starting with a letter or digit (it
is logged in the pump's events and shown to people)."""

_CONFIRM_LABEL = b"itb hello v2 pump confirm"


class HelloNotAuthentic(Exception):
    """A HELLO answer whose confirmation does not verify: the pump does not hold our pair key (it is not the
    pump it claims to be, or it forgot the pairing), or something on the link changed the exchange."""


def new_nonce() -> str:
    """A session nonce as HELLO carries it: 16 bytes from the operating system's random source, in hex."""
    return os.urandom(SESSION_NONCE_BYTES).hex()


def nonce_bytes(text: object) -> bytes | None:
    """The nonce a HELLO carries, or None unless it is exactly 32 lower-case hex digits."""
    if not isinstance(text, str) or len(text) != 2 * SESSION_NONCE_BYTES or text != text.lower():
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def hello_confirmation(keys: SessionKeys, request: dict, answer: dict) -> str:
    """The pump's confirmation of a session: an HMAC over both HELLO payloads (the answer without its
    ``confirm`` key), in hex."""
    transcript = canonical_json(request) + b"\x00" + canonical_json({k: v for k, v in answer.items() if k != "confirm"})
    return hmac.new(keys.confirm, _CONFIRM_LABEL + transcript, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OpenedFrame:
    frame: Frame
    repeat: bool
    """The same frame as the last one opened (a resend): answered again, never acted on again."""


class SecureChannel:
    """One side's end of one session: seals the frames it sends, opens those it receives, in order."""

    def __init__(self, keys: SessionKeys, pump_side: bool):
        outgoing, incoming = (keys.to_programmer, keys.to_pump) if pump_side else (keys.to_pump, keys.to_programmer)
        self.session_id = keys.session_id.hex()
        self._sealer = Sealer(outgoing)
        self._opener = Opener(incoming)

    @property
    def rejected(self) -> int:
        """Frames received in this session that did not open (replayed, reordered, forged, cut)."""
        return sum(self._opener.rejected.values())

    def seal(self, frame: Frame) -> Frame:
        """``frame`` with its payload sealed under the next counter."""
        plain = payload_bytes(frame)
        sealed = bytes((SEALED_MARK,)) + self._sealer.seal(header_bytes(frame), plain)
        return replace(frame, payload={}, compact=False, sealed=sealed)

    def open(self, frame: Frame) -> OpenedFrame:
        """The frame with its payload opened; FrameRejected (counted) for one that is not sealed, not authentic,
        not in order, or whose content is not a payload."""
        if not frame.sealed:
            self._opener.rejected["clear"] += 1
            raise FrameRejected("clear", "a frame in clear inside a secure session")
        opened = self._opener.open(header_bytes(frame), frame.sealed[1:])
        try:
            return OpenedFrame(with_payload(replace(frame, sealed=b""), opened.payload), opened.repeat)
        except ValueError as exc:
            self._opener.rejected["payload"] += 1
            raise FrameRejected("payload", f"the sealed payload is not one: {exc}") from None


def programmer_channel(pair_key: bytes, programmer_id: str, request: dict, answer: dict) -> SecureChannel:
    """The programmer's end of the session a HELLO ``request`` and its OK ``answer`` opened; HelloNotAuthentic
    when the answer's confirmation does not verify under ``pair_key`` (or lacks its nonce)."""
    pump_nonce = nonce_bytes(answer.get("nonce"))
    serial = answer.get("serial")
    if pump_nonce is None or not isinstance(serial, str) or not isinstance(answer.get("confirm"), str):
        raise HelloNotAuthentic("the pump's HELLO answer has no session nonce, serial or confirmation")
    keys = derive_session_keys(pair_key, bytes.fromhex(request["nonce"]), pump_nonce, programmer_id, serial)
    if not hmac.compare_digest(hello_confirmation(keys, request, answer), answer["confirm"]):
        raise HelloNotAuthentic("the pump's confirmation does not verify under this programmer's pair key")
    return SecureChannel(keys, pump_side=False)


def pump_channel(pair_key: bytes, serial: str, request: dict, answer: dict) -> tuple[dict, SecureChannel]:
    """The pump's HELLO answer (``answer`` with its nonce and confirmation added) and its end of the session.
    ``request`` has been checked: a valid programmer id and nonce."""
    answer = {**answer, "nonce": new_nonce()}
    keys = derive_session_keys(pair_key, bytes.fromhex(request["nonce"]), bytes.fromhex(answer["nonce"]),
                               request["programmer_id"], serial)
    return {**answer, "confirm": hello_confirmation(keys, request, answer)}, SecureChannel(keys, pump_side=True)


__all__ = ["FrameRejected", "HelloNotAuthentic", "OpenedFrame", "PROGRAMMER_ID", "SecureChannel", "hello_confirmation",
           "new_nonce", "nonce_bytes", "programmer_channel", "pump_channel"]

"""``pump-emulator --paired-with FILE``: pair the pump at start with the programmer whose key file is FILE.

Why: tests and benchmarks start many pumps, and pairing each over its code costs two round trips and a person
(or a parse of the code line) every time. The file is the programmer's own key store (format
``itb-pairing-keys/1``, written by programmer/pairing_keys.py); this is a reader of the few keys the pump needs,
of its own, because the emulator may not import the programmer's key store (the import contracts in
pyproject.toml keep the pump's side apart from the programmer's). The key used is the one under the pump's
serial or, when the file has one, under ``"*"`` (a key a test gives every pump it starts).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path

from protocol.pairing import KEY_BYTES
from protocol.secure import PROGRAMMER_ID

KEYS_FORMAT = "itb-pairing-keys/1"
ANY_PUMP = "*"


class PairedWithError(Exception):
    """The file cannot be used: the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class KeyFile:
    """A programmer key file, read and checked whole: its programmer id and every pump key it holds."""

    path: Path
    programmer_id: str
    keys: dict[str, bytes]
    """Pump serial (or ``"*"``, any pump) -> its 32-byte pair key."""

    def key_for(self, serial: str) -> bytes:
        """The key for the pump ``serial``, else the key for any pump; PairedWithError when there is neither."""
        key = self.keys.get(serial, self.keys.get(ANY_PUMP))
        if key is None:
            raise PairedWithError(f"--paired-with {self.path}: no key for this pump ({serial}) nor for {ANY_PUMP!r}")
        return key


def read_key_file(path: Path) -> KeyFile:
    """The key file ``path``, every entry checked, so that a file that cannot be used is refused before the
    pump is switched on (and its state file made or changed); PairedWithError naming the file and the fault."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PairedWithError(f"--paired-with {path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise PairedWithError(f"--paired-with {path}: not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != KEYS_FORMAT:
        raise PairedWithError(f"--paired-with {path}: not a programmer key file (format {KEYS_FORMAT})")
    programmer_id = document.get("programmer_id")
    if not isinstance(programmer_id, str) or not PROGRAMMER_ID.fullmatch(programmer_id):
        raise PairedWithError(f"--paired-with {path}: programmer_id is not a valid programmer id")
    pumps = document.get("pumps")
    if not isinstance(pumps, dict):
        raise PairedWithError(f"--paired-with {path}: pumps is not an object of pump serials")
    return KeyFile(path, programmer_id, {serial: _key(path, serial, entry) for serial, entry in pumps.items()})


def _key(path: Path, serial: str, entry: object) -> bytes:
    try:
        key = base64.b64decode(entry.get("key", ""), validate=True) if isinstance(entry, dict) else b""
    except (binascii.Error, TypeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise PairedWithError(f"--paired-with {path}: the key for {serial!r} is not {KEY_BYTES} bytes in base64")
    return key

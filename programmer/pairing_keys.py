"""The programmer's keys at rest: its own id and the pair key it shares with each pump it was paired with.

Whoever holds a pair key can change that pump's therapy, so the file is treated like an SSH private key: it
is created readable and writable by its owner only (0600, in a 0700 directory), a file that group or others
could read is refused rather than used (the message says how to fix it), it is replaced whole by an atomic
rename (a crash leaves the old file or the new one, never half of either), and no key is ever written
anywhere else: not to the audit log, not to a trace, not to an error message.

Where it lives: ``platformdirs.user_data_path("itb-programmer") / "pairing-keys.json"`` (on Linux
``$XDG_DATA_HOME`` or ``~/.local/share``), or the path a caller gives.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import platformdirs

from programmer.errors import InputError

APP_NAME = "itb-programmer"
KEYS_FILE = "pairing-keys.json"
KEYS_FORMAT = "itb-pairing-keys/1"
KEY_BYTES = 32


KEYS_ENVIRONMENT = "ITB_PAIRING_KEYS"
"""An environment variable naming another keys file (a test run, a scripted bench): it wins over the default."""


def default_keys_path() -> Path:
    """``$ITB_PAIRING_KEYS`` when set, otherwise the file in the platform's user data directory."""
    configured = os.environ.get(KEYS_ENVIRONMENT)
    return Path(configured) if configured else platformdirs.user_data_path(APP_NAME) / KEYS_FILE


@dataclass
class PairingKeys:
    """This programmer's id and pair keys by pump serial, as read from ``path`` (empty if there is none yet)."""

    path: Path | None
    """None for keys held in memory only (``in_memory_keys``): nothing is ever written."""
    programmer_id: str
    keys: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    """Pump serial -> (pair key, when it was paired, ISO 8601)."""

    def key_for(self, serial: str) -> bytes | None:
        entry = self.keys.get(serial)
        return None if entry is None else entry[0]

    def remember(self, serial: str, key: bytes, when: datetime) -> None:
        """Keep a new pair key for ``serial`` (replacing an older one) and save at once."""
        if len(key) != KEY_BYTES:
            raise ValueError(f"a pair key is {KEY_BYTES} bytes (got {len(key)})")
        self.keys[serial] = (key, when.isoformat(timespec="seconds"))
        self.save()

    def forget(self, serial: str) -> bool:
        """Drop the key for ``serial`` and save; False when there was none."""
        if self.keys.pop(serial, None) is None:
            return False
        self.save()
        return True

    def save(self) -> None:
        """Write the whole file again: a 0600 temporary file beside it, synced, then renamed over it. Keys in
        memory only are not written anywhere."""
        if self.path is None:
            return
        document = {"format": KEYS_FORMAT, "programmer_id": self.programmer_id,
                    "pumps": {serial: {"key": base64.b64encode(key).decode("ascii"), "paired_at": when}
                              for serial, (key, when) in sorted(self.keys.items())}}
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise InputError([("pairing keys", f"cannot write {self.path}: {exc.strerror or exc}")],
                             step="save pairing keys") from None


def in_memory_keys(programmer_id: str | None = None) -> PairingKeys:
    """Keys that live only as long as this process: for a pump this process started itself and paired with
    (the demo's bundled emulator), whose key is worth nothing once either is gone."""
    return PairingKeys(None, programmer_id or _new_programmer_id())


def _new_programmer_id() -> str:
    return f"programmer-{secrets.token_hex(8)}"


def load_pairing_keys(path: Path | None = None) -> PairingKeys:
    """The keys in ``path`` (default ``default_keys_path()``); a new programmer id and no keys when the file does
    not exist yet (nothing is written until a key is remembered). InputError naming the file for one that
    others may read, or that is not a keys file."""
    path = default_keys_path() if path is None else path
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return PairingKeys(path, _new_programmer_id())
    except OSError as exc:
        raise _unusable(path, exc.strerror or str(exc)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise _unusable(path, f"its mode is {stat.S_IMODE(mode):04o}: group or others may read it, and pump keys "
                              f"must be its owner's alone (chmod 600 {path}, then pair again if others read it)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != KEYS_FORMAT:
            raise ValueError(f"format is {document.get('format')!r}, not {KEYS_FORMAT!r}")
        keys = {}
        for serial, entry in document["pumps"].items():
            key = base64.b64decode(entry["key"], validate=True)
            if len(key) != KEY_BYTES or not isinstance(entry["paired_at"], str):
                raise ValueError(f"the entry for {serial!r} is not a {KEY_BYTES}-byte key with its date")
            keys[serial] = (key, entry["paired_at"])
        programmer_id = document["programmer_id"]
        if not isinstance(programmer_id, str) or not programmer_id:
            raise ValueError("programmer_id is not a non-empty string")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise _unusable(path, f"not a pairing keys file ({exc})") from None
    return PairingKeys(path, programmer_id, keys)


def _unusable(path: Path, why: str) -> InputError:
    return InputError([("pairing keys", f"{path}: {why}")], step="read pairing keys")

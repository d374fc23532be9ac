"""The test run's programmer and its pairing with every pump the tests start, so no test has to pair first.

Why: every pump speaks the secure protocol (docs/protocol.md section 6) and answers only a programmer it was
paired with. Pairing takes a pairing window and a code each time; instead, the run has one programmer (a fixed
id, its keys file named by ``$ITB_PAIRING_KEYS`` so child processes use it too) and one pair key, which every
emulator the fixtures start is given at start (``pump-emulator --paired-with FILE``, the key under serial
``*``), and which the programmer's keys file then holds for that pump's serial (``trust_pump``). Tests that
pair for real (the ``pair`` command, the pairing dialog) use keys of their own.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path

from programmer.pairing_keys import KEYS_FORMAT, load_pairing_keys

TEST_PROGRAMMER_ID = "test-programmer"
TEST_PAIR_KEY = bytes(range(0x40, 0x60))
"""32 bytes: the pair key the run's programmer shares with every pump the fixtures start."""
TEST_PAIRED_AT = datetime(2026, 1, 5, 9, 0, 0).astimezone()


def write_paired_with_file(path: Path) -> Path:
    """The file ``pump-emulator --paired-with`` reads: the run's programmer and its key for any serial (``*``)."""
    document = {"format": KEYS_FORMAT, "programmer_id": TEST_PROGRAMMER_ID,
                "pumps": {"*": {"key": base64.b64encode(TEST_PAIR_KEY).decode("ascii"),
                                "paired_at": TEST_PAIRED_AT.isoformat(timespec="seconds")}}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path


def write_programmer_keys(path: Path) -> Path:
    """An empty keys file of the run's programmer (its fixed id, no pump yet), 0600 like a real one."""
    keys = load_pairing_keys(path)
    keys.programmer_id = TEST_PROGRAMMER_ID
    keys.save()
    return path


def trust_pump(serial: str, keys_path: Path | None = None) -> None:
    """Remember the run's pair key for ``serial`` in the programmer's keys file (``$ITB_PAIRING_KEYS``)."""
    keys = load_pairing_keys(keys_path)
    if keys.key_for(serial) != TEST_PAIR_KEY:
        keys.remember(serial, TEST_PAIR_KEY, TEST_PAIRED_AT)

"""The test run's programmer and its pairing with every pump the tests start, so no test has to pair first.

Why: every pump speaks the secure protocol (docs/protocol.md section 6) and answers only a programmer it was
paired with. Pairing takes a pairing window and a code each time; instead, the run has one programmer (a fixed
id, its keys file named by ``$ITB_PAIRING_KEYS`` so child processes use it too) and one pair key, which every
emulator the fixtures start is given at start (``pump-emulator --paired-with FILE``, the key under serial
``*``), and which the programmer's keys file then holds for that pump's serial (``trust_pump``). Tests that
pair for real (the ``pair`` command, the pairing dialog) use keys of their own.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from programmer.pairing_keys import load_pairing_keys
from tests.support.emulator_support import TEST_KEY, TEST_PROGRAMMER

TEST_PAIRED_AT = datetime(2026, 1, 5, 9, 0, 0).astimezone()
__all__ = ["trust_pump", "write_programmer_keys"]


_run_keys: list[Path] = []
"""The run's keys file, once written: a test may point ``$ITB_PAIRING_KEYS`` at a programmer of its own."""


def write_programmer_keys(path: Path) -> Path:
    """An empty keys file of the run's programmer (its fixed id, no pump yet), 0600 like a real one."""
    keys = load_pairing_keys(path)
    keys.programmer_id = TEST_PROGRAMMER
    keys.save()
    _run_keys[:] = [path]
    return path


def trust_pump(serial: str) -> None:
    """Remember the run's pair key for ``serial`` in the run programmer's keys file."""
    keys = load_pairing_keys(_run_keys[0] if _run_keys else None)
    if keys.key_for(serial) != TEST_KEY:
        keys.remember(serial, TEST_KEY, TEST_PAIRED_AT)

"""What the benchmarks share to talk to the emulators they start over the secure link (no test code here).

Every emulator speaks protocol version 2 and answers only a programmer it was paired with. Pairing for real
takes a pairing window and a code each time; a benchmark that measures something else starts its emulator
``--paired-with`` a key of the run instead (the key under serial ``*``, docs/emulator.md), and holds that key,
in memory only, for the pump's serial: the serial is the one the pump names when it answers a programmer that
holds no key for it (``NotPaired``).
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path

from emulator.launch import EmulatorProcess
from programmer.errors import NotPaired
from programmer.pairing_keys import KEYS_FORMAT, PairingKeys, in_memory_keys
from programmer.port import open_driver

BENCH_PROGRAMMER = "bench-programmer"


def paired_with_file(folder: Path, key: bytes) -> Path:
    """A keys file for ``pump-emulator --paired-with``: this run's programmer and ``key`` for any serial."""
    path = folder / "bench-paired-with.json"
    document = {"format": KEYS_FORMAT, "programmer_id": BENCH_PROGRAMMER,
                "pumps": {"*": {"key": base64.b64encode(key).decode("ascii"),
                                "paired_at": datetime.now().astimezone().isoformat(timespec="seconds")}}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path


class PairedEmulator:
    """An emulator started ``--paired-with`` a fresh key, and the programmer's keys (in memory) that open it."""

    def __init__(self, state: Path, *args: str) -> None:
        key = os.urandom(32)
        self.emulator = EmulatorProcess(["--listen", "tcp://127.0.0.1:0", "--state", str(state),
                                         "--paired-with", str(paired_with_file(state.parent, key)), *args])
        self.url = self.emulator.start()
        self.keys: PairingKeys = in_memory_keys(BENCH_PROGRAMMER)
        try:
            open_driver(self.url, keys=self.keys).close()
        except NotPaired as unknown:
            self.keys.remember(unknown.serial, key, datetime.now().astimezone())

    def stop(self) -> None:
        self.emulator.stop()


def next_pairing_code(emulator: EmulatorProcess) -> str:
    """The code of the pairing window the emulator opened last: its next line on standard output."""
    return emulator.read_pairing_code()[0]

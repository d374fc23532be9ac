"""Throwaway signing keys for tests: a pharmacy that signs libraries, and the administrator's trust store that
may list it. Never the release key: every key here is made in the test that uses it and dies with it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from programmer.library_signing import TrustedKey, new_key, sign, write_signature


class Signer:
    """A key made for one test, and the name it signs with."""

    def __init__(self, name: str = "Test hospital pharmacy"):
        self.key = new_key()
        self.name = name
        self.entry = TrustedKey.of(self.key.public_key(), f"{name}'s key")

    @property
    def key_id(self) -> str:
        return self.entry.key_id

    def sign(self, library: Path, approved: date = date(2026, 11, 30)) -> Path:
        """Write ``library``.sig for the file's bytes as they are now; its path."""
        return write_signature(library, sign(library.read_bytes(), self.key, self.name, approved))


def write_library(path: Path, data: dict, signer: Signer | None = None) -> Path:
    """A library file, signed by ``signer`` when one is given (else unsigned)."""
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    if signer is not None:
        signer.sign(path)
    return path


def write_trust_store(path: Path, *signers: Signer) -> Path:
    """The administrator's trust store (``itb-library-trust/1``) listing these signers' keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": "itb-library-trust/1",
                                "keys": [signer.entry.model_dump() for signer in signers]}), encoding="utf-8")
    return path

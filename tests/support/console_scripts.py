"""The project's console scripts as installed beside the interpreter running the tests.

Why not PATH: the README runs the suite as ``.venv/bin/python -m pytest`` without activating the
environment, so ``.venv/bin`` is not on PATH, and a ``pump-programmer`` found there could be another
installation's. The scripts that belong to this interpreter are the ones in its own ``bin`` directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def script(name: str) -> str:
    """The absolute path of console script ``name`` (``pump-programmer``, ``pump-emulator``)."""
    path = BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{name} is not installed beside {sys.executable}: run bash scripts/bootstrap")
    return str(path)

"""Named pump states a tester saves and loads through the control channel: a pump's whole memory, kept under a
name in a folder beside its state file, to come back to a field situation without building it again.

Why the state file's own format and writer: a saved state is exactly what the pump would have written at that
moment (``itb-emulator-state/1``, atomic and fsynced, mode 0600 since it holds the pair keys), and one is loaded
only after the same validation a state file gets at start, so a hand-edited or torn file is refused, never run.
"""

from __future__ import annotations

import re
from pathlib import Path

from emulator.state import PumpState, load_state, save_state

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A saved state's name: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (so it is a plain
file name, never hidden, never a path)."""


def saved_states_folder(state_file: Path) -> Path:
    """Where the named states of the pump kept in ``state_file`` are: ``FILE.saved/`` beside it."""
    return state_file.with_name(state_file.name + ".saved")


def saved_state_path(state_file: Path, name: str) -> Path:
    """The file of the named state ``name``; ValueError naming the rule when ``name`` breaks it."""
    if not NAME.fullmatch(name):
        raise ValueError(f"name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
                         "digit")
    return saved_states_folder(state_file) / f"{name}.json"


def save_named(state: PumpState, state_file: Path, name: str) -> Path:
    """Write ``state`` under ``name`` (replacing one of that name) and return its file."""
    path = saved_state_path(state_file, name)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    save_state(state, path)
    return path


def load_named(state_file: Path, name: str) -> PumpState:
    """The state saved under ``name``; FileNotFoundError when there is none, emulator.state.StateFileError when it
    is not valid."""
    path = saved_state_path(state_file, name)
    if not path.is_file():
        raise FileNotFoundError(f"no state is saved under the name {name!r} (looked for {path})")
    return load_state(path)

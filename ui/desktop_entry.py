"""The desktop menu entry and icon, so that the programmer starts from the menu like any application,
shows its own icon, and has its windows grouped under that entry.

No Qt here: ``pump-programmer desktop-entry`` (which ``scripts/bootstrap --desktop-entry`` runs) writes
these files and must not load it. The files, under the user's data home (XDG Base Directory spec):

- ``applications/itb-programmer.desktop``, per the freedesktop.org Desktop Entry Specification 1.5;
- ``icons/hicolor/scalable/apps/itb-programmer.svg``, in hicolor, the theme every icon theme falls back to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP_ID = "itb-programmer"
"""The entry's file name and icon name; the application gives it to Qt as its desktop file name, which
is how Wayland compositors and KDE match a window to its menu entry."""

ICON_FILE = Path(__file__).resolve().parent / "resources" / f"{APP_ID}.svg"

WM_CLASS = "pump-programmer"
"""On X11, Qt names a window's WM_CLASS instance after the program (argv[0]) that started it: the entry
starts ``pump-programmer``, and StartupWMClass tells the desktop which windows are this entry's."""

ENTRY = Path("applications") / f"{APP_ID}.desktop"
ICON = Path("icons") / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"

_RESERVED = frozenset(' "\'\\><~|&;$*?#()`')
"""Characters that oblige an Exec argument to be quoted (the spec's "The Exec key"; its tab and newline
are refused outright, with every other control character)."""


def data_home(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset, empty or relative (the spec says a
    relative path is invalid and must be ignored)."""
    value = environ.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(environ.get("HOME") or Path.home()) / ".local" / "share"


def exec_argument(argument: str) -> str:
    """One argument of an Exec key: quoted if it holds a reserved character (a double quote, backtick,
    dollar sign or backslash inside the quotes gets a backslash before it), ``%`` doubled (it starts a
    field code), then escaped as any string value is, in that order: a reader undoes the string escapes
    first and the quoting second."""
    if any(ord(char) < 0x20 or char == "\x7f" for char in argument):
        raise ValueError(f"{argument!r} holds a control character: a desktop entry cannot start it")
    if any(char in _RESERVED for char in argument):
        argument = '"' + "".join("\\" + char if char in '"`$\\' else char for char in argument) + '"'
    return _string_value(argument.replace("%", "%%"))


def _string_value(text: str) -> str:
    """A value of type string holds no control character (``exec_argument`` refused them): only the
    backslash needs escaping."""
    return text.replace("\\", "\\\\")


def entry_text(executable: Path) -> str:
    """The desktop entry for the ``pump-programmer`` script at ``executable`` (an absolute path, so the
    menu starts this installation, whatever is on PATH)."""
    if not executable.is_absolute():
        raise ValueError(f"{executable} is not an absolute path")
    program = exec_argument(str(executable))
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.5",
        "Name=ITB Pump Programmer",
        "GenericName=Drug Pump Programmer",
        "Comment=Read and program implanted intrathecal drug pumps, and see the delivery before a change is written",
        f"Icon={APP_ID}",
        f"TryExec={_string_value(str(executable))}",  # the menu hides the entry once the installation is gone
        f"Exec={program}",
        "Terminal=false",
        "Categories=MedicalSoftware;Science;",  # MedicalSoftware is an additional category; Science its main one
        "Keywords=ITB;intrathecal;baclofen;pump;programmer;emulator;",
        "StartupNotify=true",
        f"StartupWMClass={WM_CLASS}",
        "Actions=Demo;",
        "",
        "[Desktop Action Demo]",
        "Name=Demo with the Bundled Pump Emulator",
        f"Exec={program} --demo",
        "",
    ])


def install(data_home: Path, executable: Path) -> list[Path]:
    """Write the icon, then the entry (so the menu never shows an entry without its icon); returns both."""
    icon, entry = data_home / ICON, data_home / ENTRY
    _write(icon, ICON_FILE.read_bytes())
    _write(entry, entry_text(executable).encode("utf-8"))
    return [entry, icon]


def remove(data_home: Path) -> list[Path]:
    """Remove the entry and the icon; returns those that were there."""
    removed = []
    for path in (data_home / ENTRY, data_home / ICON):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all: menus watch these directories and read a file as soon as it appears."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)

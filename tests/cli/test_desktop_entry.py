"""``pump-programmer desktop-entry [--remove]`` (``ui.desktop_entry``): a freedesktop.org menu entry that
starts this installation's script, its Demo action, the icon in hicolor, and their removal. Every file is
written under tmp_path (``XDG_DATA_HOME``)."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.console_scripts import script
from programmer.cli.main import main
from ui.desktop_entry import ICON_FILE, data_home, entry_text, exec_argument

ENTRY = Path("applications") / "itb-programmer.desktop"
ICON = Path("icons") / "hicolor" / "scalable" / "apps" / "itb-programmer.svg"


def desktop_entry(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([script("pump-programmer"), "desktop-entry", *args], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, XDG_DATA_HOME=str(data)))


def read_entry(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(text)
    return parser


def exec_arguments(value: str) -> list[str]:
    """An Exec value read as the Desktop Entry Specification says, written here apart from the code under
    test: first the string escapes (an unknown one fails), then the quoting, then ``%%``."""
    string, characters = [], iter(value)
    for char in characters:
        string.append({"\\": "\\", "s": " ", "n": "\n", "t": "\t", "r": "\r"}[next(characters)] if char == "\\" else char)
    arguments, current, quoted, characters = [], [], False, iter(string)
    for char in characters:
        if quoted and char == "\\":
            escaped = next(characters)
            assert escaped in '"`$\\', f"{escaped!r} may not be escaped inside quotes"
            current.append(escaped)
        elif char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            arguments.append("".join(current))
            current = []
        else:
            current.append(char)
    assert not quoted, "an unterminated quote"
    return [argument.replace("%%", "%") for argument in [*arguments, "".join(current)]]


def test_the_entry_starts_this_installation_and_shows_its_icon(tmp_path):
    done = desktop_entry(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {tmp_path / ENTRY}\nwrote {tmp_path / ICON}\n"

    parsed = read_entry((tmp_path / ENTRY).read_text(encoding="utf-8"))
    entry = parsed["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Version"] == "1.5"
    assert entry["Name"] == "ITB Pump Programmer" and entry["GenericName"] and entry["Comment"]
    assert entry["Icon"] == "itb-programmer" and entry["Terminal"] == "false"
    assert entry["Categories"] == "MedicalSoftware;Science;"  # an additional category with its main one
    program = script("pump-programmer")
    assert exec_arguments(entry["Exec"]) == [program] and entry["TryExec"] == program
    assert os.path.isabs(program) and os.access(program, os.X_OK)
    assert entry["StartupWMClass"] == Path(program).name  # Qt names X11 windows after argv[0]
    assert entry["Actions"] == "Demo;"
    demo = parsed["Desktop Action Demo"]
    assert demo["Name"] and exec_arguments(demo["Exec"]) == [program, "--demo"]

    svg = ET.parse(tmp_path / ICON).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox") == "0 0 64 64"
    assert (tmp_path / ICON).read_bytes() == ICON_FILE.read_bytes()

    validate = shutil.which("desktop-file-validate")
    if validate is not None:
        checked = subprocess.run([validate, str(tmp_path / ENTRY)], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0 and checked.stdout == "", checked.stdout + checked.stderr


def test_remove_takes_out_the_entry_and_the_icon(tmp_path):
    assert desktop_entry(tmp_path).returncode == 0
    done = desktop_entry(tmp_path, "--remove")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"removed {tmp_path / ENTRY}\nremoved {tmp_path / ICON}\n"
    assert not (tmp_path / ENTRY).exists() and not (tmp_path / ICON).exists()
    again = desktop_entry(tmp_path, "--remove")
    assert (again.returncode, again.stdout) == (0, f"no desktop entry to remove under {tmp_path}\n")


def test_writing_the_entry_does_not_load_qt(tmp_path):
    code = ("import sys; from programmer.cli.main import main; code = main(['desktop-entry']); "
            "print(code, 'PySide6' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, XDG_DATA_HOME=str(tmp_path)))
    assert done.stderr == "0 False\n" and (tmp_path / ENTRY).is_file()


def test_without_an_installed_script_nothing_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python3"))
    assert main(["desktop-entry"]) == 2
    assert "no pump-programmer script beside" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("path", [
    "/opt/itb/bin/pump-programmer",
    "/opt/ITB programmer/bin/pump-programmer",
    '/home/o\'neil/"quoted"/$HOME/`tick`/back\\slash/100%/pump-programmer',
    "/srv/a;b|c&d<e>f~g*h?i#j(k)l/pump-programmer",
])
def test_exec_is_quoted_so_that_a_reader_of_the_spec_gets_the_path_back(path):
    parsed = read_entry(entry_text(Path(path)))
    assert exec_arguments(parsed["Desktop Entry"]["Exec"]) == [path]
    assert exec_arguments(parsed["Desktop Action Demo"]["Exec"]) == [path, "--demo"]


def test_exec_quoting_examples():
    assert exec_argument("/opt/itb/bin/pump-programmer") == "/opt/itb/bin/pump-programmer"
    assert exec_argument("/opt/ITB programmer/x") == '"/opt/ITB programmer/x"'
    assert exec_argument("/opt/100%/x") == "/opt/100%%/x"
    assert exec_argument("/opt/a b$/x") == '"/opt/a b\\\\$/x"'      # \$ inside quotes, then \ doubled
    assert exec_argument("/opt/a\\b") == '"/opt/a\\\\\\\\b"'          # four backslashes, as the spec says
    with pytest.raises(ValueError, match="control character"):
        exec_argument("/opt/a\nb")
    with pytest.raises(ValueError, match="not an absolute path"):
        entry_text(Path("bin/pump-programmer"))


def test_the_data_home_follows_the_xdg_base_directory_spec():
    assert data_home({"XDG_DATA_HOME": "/x/share", "HOME": "/h"}) == Path("/x/share")
    for unusable in ({"HOME": "/h"}, {"XDG_DATA_HOME": "", "HOME": "/h"}, {"XDG_DATA_HOME": "rel", "HOME": "/h"}):
        assert data_home(unusable) == Path("/h/.local/share")

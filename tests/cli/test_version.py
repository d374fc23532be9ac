"""``--version`` of both console scripts: the installed package's version, printed without loading Qt."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from tests.support.console_scripts import script

VERSION = metadata.version("itb-programmer")


@pytest.mark.parametrize("name", ["pump-programmer", "pump-emulator"])
def test_version_is_the_installed_package_version(name):
    done = subprocess.run([script(name), "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{name} {VERSION}\n", "")


@pytest.mark.parametrize("module", ["programmer.cli.main", "emulator.cli"])
def test_version_does_not_load_qt(module):
    code = (f"import sys; from {module} import main; code = main(['--version']); "
            "print(code, 'PySide6' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.endswith(f" {VERSION}\n")
    assert done.stderr == "0 False\n"

"""The suite's own layout: its folders mirror the code's packages, and none of them hides the code.

pytest puts a test module's folder on ``sys.path`` unless that folder is a package (its default
``prepend`` import mode). A ``tests/emulator`` there could then answer ``import emulator`` in place of the
pump emulator, or its modules clash by name with those of ``tests/ui``. So every folder of tests is a
package: only the repository's root goes on ``sys.path``, and the code's packages are the code's.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CODE = ["programmer", "drivers", "protocol", "emulator", "commandline", "ui"]


def test_every_folder_of_tests_is_a_package():
    folders = {path.parent for path in TESTS.rglob("*.py")}
    assert sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file()) == []


def test_no_folder_of_tests_is_on_sys_path():
    assert [entry for entry in sys.path if Path(entry or ".").resolve().is_relative_to(TESTS)] == []


def test_the_code_packages_imported_by_the_tests_are_the_repositorys():
    found = {name: Path(importlib.import_module(name).__file__).resolve() for name in CODE}
    assert found == {name: ROOT / name / "__init__.py" for name in CODE}

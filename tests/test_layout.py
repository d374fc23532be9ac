"""The suite's own layout: its folders mirror the code's packages, and none of them hides the code.

pytest puts a test module's folder on ``sys.path`` unless that folder is a package (its default
``prepend`` import mode). A ``tests/emulator`` there could then answer ``import emulator`` in place of the
pump emulator, or its modules clash by name with those of ``tests/ui``. So every folder of tests is a
package: only the repository's root goes on ``sys.path``, and the code's packages are the code's.

Fixtures live in conftest.py files, where pytest finds them for every test below: a fixture imported by
name into a test module is found only there, and the import looks unused to every tool. Helpers the tests
share are in ``tests/support``, never in another test module.
"""

from __future__ import annotations

import ast
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


def _imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}


def test_tests_share_helpers_only_through_support():
    wrong = {f"{path.relative_to(ROOT)} imports {module}" for path in TESTS.rglob("*.py")
             for module in _imports_of(path) if module.startswith("tests.") and not module.startswith("tests.support")}
    assert sorted(wrong) == []


def test_support_defines_no_fixture():
    def is_fixture(decorator: ast.expr) -> bool:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        return isinstance(target, ast.Attribute) and target.attr == "fixture"

    found = [f"{path.relative_to(ROOT)}: {node.name}" for path in (TESTS / "support").rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.FunctionDef) and any(is_fixture(d) for d in node.decorator_list)]
    assert found == []

"""The import contracts in pyproject.toml cannot go stale: each list that names modules one by one still names
every module it must, and the emulator shares with the programmer only what the architecture says.

import-linter checks the contracts as written (CI runs lint-imports); a "forbidden" contract only forbids what
it lists, so a new domain module that the emulator imported would pass it unless the list grew too. These tests
compare the lists with the tree as it is.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_MAY_USE = {"programmer", "programmer.program", "programmer.errors", "programmer.strict_json"}
"""The program document, its error wording and strict JSON: what the pump's side shares (docs/architecture.md)."""
PROTOCOL_MAY_USE = {"programmer", "programmer.strict_json"}


def contract(name_start: str) -> dict:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [found] = [entry for entry in contracts if entry["name"].startswith(name_start)]
    return found


def modules_of(package: str) -> set[str]:
    """Every module of a package, as dotted names, subpackages counted as themselves (not their children)."""
    folder = ROOT / package.replace(".", "/")
    names = {f"{package}.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__"}
    names |= {f"{package}.{path.parent.name}" for path in folder.glob("*/__init__.py")}
    return names


def imported_modules(*paths: Path) -> set[str]:
    """Every absolute module the code imports (a folder: all its files), at any depth (inside functions too)."""
    found: set[str] = set()
    for path in (file for given in paths for file in (given.rglob("*.py") if given.is_dir() else [given])):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
    return found


def outside(used: set[str], allowed: set[str]) -> set[str]:
    """The imported names that are neither an allowed module nor a name inside one (``programmer.program.Drug``)."""
    return {name for name in used if name not in allowed
            and not any(name.startswith(module + ".") for module in allowed - {"programmer"})}


def test_the_emulator_uses_only_the_program_document_of_the_programmer():
    used = {name for name in imported_modules(ROOT / "emulator") if name.split(".")[0] == "programmer"}
    assert outside(used, EMULATOR_MAY_USE) == set()
    assert "programmer.program" in used  # the rule is about something real


def test_the_wire_protocol_uses_only_strict_json_of_the_programmer():
    used = {name for name in imported_modules(ROOT / "protocol") if name.split(".")[0] == "programmer"}
    assert outside(used, PROTOCOL_MAY_USE) == set() and "programmer.strict_json" in used


def test_the_emulators_contract_forbids_every_other_programmer_module():
    forbidden = set(contract("The emulator").get("forbidden_modules", []))
    assert modules_of("programmer") - EMULATOR_MAY_USE <= forbidden


def test_the_protocols_contract_forbids_every_other_programmer_module():
    forbidden = set(contract("The wire protocol").get("forbidden_modules", []))
    assert modules_of("programmer") - PROTOCOL_MAY_USE <= forbidden


def test_the_view_models_contract_forbids_every_widget_module():
    """Every ui module that imports Qt is a widget module, and the view models may import none of them."""
    widgets = {name for name in modules_of("ui") if name != "ui.view_models"
               and {"PySide6", "pyqtgraph"} & {imported.split(".")[0] for imported in
                                             imported_modules(ROOT / (name.replace(".", "/") + ".py"))}}
    assert "ui.main_window" in widgets
    assert widgets <= set(contract("ui's view models").get("forbidden_modules", []))


"""The clinic record's place in the architecture: the contract that keeps the domain's core free of it lists every
module of the core (a forbidden contract forbids only what it lists), and the migrations ship inside the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def contract(name_start: str) -> dict:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [found] = [entry for entry in contracts if entry["name"].startswith(name_start)]
    return found


def test_the_core_contract_lists_every_module_of_programmer_but_its_command_line():
    core = {f"programmer.{path.stem}" for path in (ROOT / "programmer").glob("*.py") if path.stem != "__init__"}
    assert set(contract("The domain's core").get("source_modules", [])) == core
    assert contract("The domain's core")["forbidden_modules"] == ["clinic"]


def test_the_migrations_are_a_package_of_the_distribution():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert "clinic*" in packages["include"]
    assert sorted(path.name for path in (ROOT / "clinic" / "migrations" / "versions").glob("0*.py")) == [
        "0001_first_schema.py", "0002_implant_history.py",
        "0003_mirror_in_the_chain.py", "0004_record_keys.py"]
    assert (ROOT / "clinic" / "migrations" / "versions" / "__init__.py").is_file()

"""The README's two commands on a fresh copy of the repository, with a Debian-style system Python.

Debian's ``python3`` is "externally managed" (PEP 668): ``pip install`` into it is refused, so the
README's commands must work through the project's own virtual environment, made by
``scripts/bootstrap``. This test takes the commands from README.md as written, copies the repository's
files (what a clone has: git's tracked and untracked-but-not-ignored files) to a temporary directory,
puts the externally managed interpreter first on PATH as ``python3``, and runs the commands with
``--version`` in place of what would open a window or run this very suite.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 600
WHEELS = ROOT / ".pytest_cache" / "install-wheels"
"""The wheels the install needs, downloaded once (for each pyproject.toml and Python version) by pip as configured."""


def readme_commands() -> list[str]:
    """The first code block of README.md: the command that opens the application, then the test command."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2, f"README.md must start with two commands, found {commands}"
    return commands


def externally_managed_python() -> str | None:
    """An interpreter marked externally managed (PEP 668), as Debian's /usr/bin/python3 is."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if not os.access(candidate, os.X_OK):
            continue
        marker = subprocess.run([candidate, "-c", "import sysconfig, os; print(os.path.join("
                                 "sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED'))"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
        if marker and Path(marker).is_file():
            return candidate
    return None


def copy_of_the_repository(destination: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def local_wheels(python: str) -> Path | None:
    """A folder holding every wheel ``bootstrap`` installs (the package's dependencies, its test extra, and the build
    backend the editable install builds with), for pip to take from with no index: the install proves the same, and
    pip no longer weighs the tens of thousands of files the indexes list (most of the install's CPU time). Made by
    ``pip download`` from the indexes pip is configured with, the first time and whenever pyproject.toml changes;
    None (install from the indexes) where it cannot be: another Python version than this one, or pip failed."""
    probe = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True,
                           timeout=30)
    if probe.stdout.split() != [str(part) for part in sys.version_info[:2]]:
        return None
    project = (ROOT / "pyproject.toml").read_bytes()
    folder = WHEELS / hashlib.sha256(project + sys.version.encode()).hexdigest()[:16]
    if (folder / "complete").is_file():
        return folder
    shutil.rmtree(WHEELS, ignore_errors=True)  # those of an older pyproject.toml
    metadata = tomllib.loads(project.decode())
    needed = [*metadata["build-system"]["requires"], *metadata["project"]["dependencies"],
              *metadata["project"]["optional-dependencies"]["test"]]
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                           "--only-binary", ":all:", "--dest", str(folder), *needed], capture_output=True,
                          timeout=INSTALL_TIMEOUT_S)
    if done.returncode != 0:
        return None
    (folder / "complete").touch()
    return folder


def path_with_python_first(bin_dir: Path, python: str) -> str:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python3").symlink_to(python)
    return os.pathsep.join([str(bin_dir), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])


@pytest.mark.slow  # a fresh virtual environment with everything installed: about 40 s
@pytest.mark.skipif(shutil.which("git") is None, reason="lists the repository's files with git")
def test_readme_commands_work_from_a_fresh_copy_with_an_externally_managed_python(tmp_path):
    python = externally_managed_python()
    if python is None:
        pytest.skip("no externally managed (PEP 668) python3 on this machine to stand in for Debian's")
    clone = copy_of_the_repository(tmp_path / "clone")
    assert not (clone / ".venv").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "PIP_REQUIRE"))}
    env["PATH"] = path_with_python_first(tmp_path / "bin", python)
    # This copy is thrown away after two --version runs: pip need not byte-compile the thousands of modules it
    # installs (a third of the install's CPU time), and it takes the wheels from a folder (``local_wheels``). The
    # commands themselves run exactly as README.md has them.
    env["PIP_COMPILE"] = "false"
    if (wheels := local_wheels(python)) is not None:
        env |= {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}

    # The interpreter really refuses a plain pip install, as on Debian (when it has pip at all).
    refused = subprocess.run(["python3", "-m", "pip", "install", "--dry-run", "itb-programmer"], cwd=clone, env=env,
                             capture_output=True, text=True, timeout=120)
    if "No module named pip" not in refused.stderr:
        assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr

    open_app, run_tests = readme_commands()
    assert open_app.endswith(" --demo") and run_tests.endswith(" -m pytest")
    app = subprocess.run(["bash", "-c", open_app.removesuffix(" --demo") + " --version"], cwd=clone, env=env,
                         capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    assert app.returncode == 0, app.stdout + app.stderr
    assert app.stdout.strip().splitlines()[-1] == f"pump-programmer {version('itb-programmer')}"
    tests = subprocess.run(["bash", "-c", run_tests + " --version"], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=INSTALL_TIMEOUT_S)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "pytest" in tests.stdout + tests.stderr

    # The environment is the project's own, made from that interpreter, with the package in it.
    venv_python = clone / ".venv" / "bin" / "python"
    facts = subprocess.run([str(venv_python), "-c", "import sys, programmer; print(sys.prefix != sys.base_prefix); "
                            "print(programmer.__file__)"], capture_output=True, text=True, timeout=60, env=env,
                           cwd=tmp_path)  # not the clone: the package must come from the environment
    in_venv, package = facts.stdout.split()
    assert in_venv == "True" and Path(package).is_relative_to(clone)
    assert (clone / ".venv" / "pyvenv.cfg").read_text().find(str(Path(python).resolve().parent)) != -1

    # Running bootstrap again is harmless and does nothing.
    again = subprocess.run(["bash", "scripts/bootstrap"], cwd=clone, env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""
    # Passed: the copy and its environment (some 600 MB, 18,000 files) go now, not at a later run's start, which
    # deletes the oldest runs' temporary files (pytest keeps three); a failed one stays there to be looked at.
    shutil.rmtree(clone)


def fake_tools(bin_dir: Path, **tools: str) -> Path:
    """Shell scripts standing in for system tools (the operating system is this test's outer edge)."""
    bin_dir.mkdir()
    for name, body in tools.items():
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(0o755)
    return bin_dir


def test_a_user_who_is_not_root_is_told_the_apt_get_line_and_nothing_is_installed(tmp_path):
    # A Debian python3 without python3-venv (no ensurepip), and a user who is not root.
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "bootstrap", project / "scripts" / "bootstrap")
    shutil.copy2(ROOT / "pyproject.toml", project / "pyproject.toml")
    calls = tmp_path / "calls"
    fakes = fake_tools(tmp_path / "fakes", id='echo 1000', python3='exit 1',
                       **{"apt-get": f'echo "apt-get $*" >> {calls}', "sudo": f'echo "sudo $*" >> {calls}'})
    env = dict(os.environ, PATH=os.pathsep.join([str(fakes), "/usr/bin", "/bin"]))
    env.pop("PYTHON", None)
    done = subprocess.run(["bash", "scripts/bootstrap"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends python3-venv'" in done.stderr
    assert not calls.exists(), "bootstrap ran apt-get or sudo for a user who is not root"
    assert not (project / ".venv").exists()


def test_ci_runs_the_readme_test_command():
    _, run_tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert run_tests in ci, f".ci/run must run the README's test command {run_tests!r} as written"

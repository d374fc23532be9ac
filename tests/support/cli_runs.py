"""``pump-programmer`` run in process through ``main(argv)``: each test sees exit codes, stdout and stderr
exactly as a script would, and the helpers that read a pump back through the command line; and who is signed in to
the test's clinic store (``SignedIn``, the ``clinic_record`` fixture of tests/conftest.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from clinic.store import open_store
from programmer.cli.main import main
from programmer.cli.support import EXIT_OK
from tests.support.emulator_support import advance_pump_time

from programmer.roles import User

PATIENT = "TEST-0001"
DOCTOR = ("--clinician", "Dr A. Osei", "--patient", PATIENT)
"""The signed-in clinician (osei, the ``clinic_record`` fixture's), who changes the pump of the test's patient: an
unknown pump is bound to TEST-0001 by the first change."""


@dataclass(frozen=True)
class SignedIn:
    """A test's clinic store and its token file (``$ITB_DB``, ``$ITB_TOKEN_FILE``)."""

    url: str
    token_file: Path

    def write(self, token: str) -> None:
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")

    def sign_in(self, user: User, lifetime: timedelta = timedelta(hours=8)) -> str:
        """``user`` signed in instead (a token issued by the store, as ``login`` does); the token."""
        store = open_store(self.url)
        try:
            token = store.users.issue_token(user, lifetime)
        finally:
            store.close()
        self.write(token)
        return token

    def sign_out(self) -> None:
        self.token_file.unlink(missing_ok=True)


def syringe(drug: str = "baclofen", unit: str = "mcg", concentration: float = 500, lot: str = "BX2291",
            expiry: str = "2099-12-31") -> tuple[str, ...]:
    """The syringe's options a full refill states every time (docs/cli.md, refill)."""
    return ("--drug", drug, "--dose-unit", unit, "--concentration", str(concentration), "--lot", lot,
            "--expiry", expiry)


SYRINGE = syringe()
"""Baclofen 500 mcg/mL, the shipped examples' drug, in a lot that does not expire before the tests run."""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the command line in process: (exit code, stdout, stderr)."""
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def program_file(tmp_path: Path, daily_dose: float = 150, concentration: float = 500, name: str = "baclofen",
                 unit: str = "mcg") -> Path:
    path = tmp_path / f"{name}-{concentration:g}-{daily_dose:g}.json"
    path.write_text(json.dumps({
        "format": "itb-program/1",
        "drug": {"name": name, "dose_unit": unit, "concentration_per_ml": concentration},
        "therapy": {"mode": "simple_continuous", "daily_dose": daily_dose},
    }))
    return path


def interrogate(capsys, url: str) -> dict:
    code, out, _ = run(capsys, "interrogate", url, "--json")
    assert code == EXIT_OK
    return json.loads(out)


LINK_EVENTS = frozenset({"session_started", "session_ended", "frame_rejected"})
"""Events of the link, not of the pump's therapy: every command's own session adds some."""


def event_count(capsys, url: str) -> int:
    """The events in the pump's log that say what happened to the pump (its link's sessions left out): the same
    before and after a command that sent nothing changing it."""
    code, out, _ = run(capsys, "events", url, "--json")
    assert code == EXIT_OK
    return len([event for event in json.loads(out)["events"] if event["kind"] not in LINK_EVENTS])


def hours_pass(capsys, url: str, hours: float) -> None:
    """``hours`` of pump time pass (SERVICE advance), then the pump clock is set back to this computer's."""
    advance_pump_time(url, hours)
    assert run(capsys, "set-clock", url, "--yes")[0] == EXIT_OK

"""Signing in at the command line: the first administrator, accounts, login, logout, whoami, and the refusals of a
role that may not change the pump, against the real emulator and a real clinic store.

Every test has its own store (tests/conftest.py ``clinic_record``: osei, kim, tess, ada, patient TEST-0001) with osei
signed in; the tests that need someone else sign them in (``signed_in.sign_in``) or sign out.
"""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from commandline import EXIT_INVALID
from programmer.audit import read_audit_log
from programmer.cli.sign_in import default_token_path
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from tests.support.cli_runs import DOCTOR, PATIENT, SYRINGE, event_count, interrogate, program_file, run
from tests.support.clinic_fixtures import KIM, PASSWORD, TESS, clinic_db

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "baclofen-simple.json"
LOGIN = "pump-programmer login --user NAME"


@pytest.fixture
def password_file(tmp_path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path



def pump_state(capsys, url: str) -> tuple:
    """What a refused command must leave as it was: the program, the reservoir and the pump's own events."""
    pump = interrogate(capsys, url)
    reservoir = round(pump["reservoir"]["volume_ml"], 2)
    return pump["program"]["checksum"], reservoir, pump["bolus"], event_count(capsys, url)


# --- login, logout, whoami -----------------------------------------------------------------------------------------


def test_login_writes_a_private_token_whoami_names_the_user_and_logout_revokes_it(capsys, signed_in, password_file,
                                                                                   tmp_path):
    token_file = tmp_path / "kim-token"
    code, out, _ = run(capsys, "login", "--user", "kim", "--password-file", password_file, "--token-file",
                       token_file, "--hours", 1)
    assert code == EXIT_OK and out.startswith("signed in as Kim Tech (kim), technician, for 1 h")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    code, out, _ = run(capsys, "whoami", "--json", "--token-file", token_file)
    who = json.loads(out)
    assert code == EXIT_OK and (who["username"], who["display_name"], who["role"]) == ("kim", "Kim Tech", "technician")
    assert "interrogate" in who["permissions"] and "change therapy" not in who["permissions"]
    token = token_file.read_text().strip()

    code, out, _ = run(capsys, "logout", "--token-file", token_file)
    assert code == EXIT_OK and not token_file.exists()
    token_file.write_text(token)  # a copy kept of a revoked token is worth nothing
    token_file.chmod(0o600)
    code, _, err = run(capsys, "whoami", "--token-file", token_file)
    assert code == EXIT_REFUSED and LOGIN in err
    # osei's own token (the fixture's) is untouched
    assert json.loads(run(capsys, "whoami", "--json")[1])["username"] == "osei"


def test_a_wrong_password_says_the_same_as_an_unknown_user_and_writes_no_token(capsys, signed_in, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password\n")
    token_file = tmp_path / "token-2"
    said = set()
    for user in ("kim", "nobody"):
        code, out, err = run(capsys, "login", "--user", user, "--password-file", wrong, "--token-file", token_file)
        assert (code, out) == (EXIT_REFUSED, "") and not token_file.exists()
        said.add(err)
    assert len(said) == 1


def test_nobody_signed_in_or_an_expired_token_refuses_every_pump_command_before_the_pump_is_contacted(
        capsys, signed_in, closed_port):
    signed_in.sign_out()
    for argv in (("interrogate", closed_port), ("write", closed_port, EXAMPLE, *DOCTOR, "--yes"),
                 ("events", closed_port), ("set-clock", closed_port, "--yes")):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (EXIT_REFUSED, "") and "nobody is signed in" in err and LOGIN in err  # not 4: no link
    signed_in.sign_in(KIM, timedelta(microseconds=1))  # expired by the time it is used
    code, _, err = run(capsys, "interrogate", closed_port)
    assert code == EXIT_REFUSED and f"sign in again with {LOGIN}" in err


def test_a_change_refused_for_an_expired_or_revoked_token_is_audited(capsys, signed_in, closed_port, audit_log):
    signed_in.sign_in(KIM, timedelta(microseconds=1))
    code, out, err = run(capsys, "set-clock", closed_port, "--yes")
    assert (code, out) == (EXIT_REFUSED, "") and "sign in again" in err  # refused before the port is tried: not 4
    signed_in.sign_in(KIM)
    assert run(capsys, "logout")[0] == EXIT_OK
    signed_in.write(signed_in.sign_in(KIM))  # a fresh token, revoked below, and a copy of it kept
    token = signed_in.token_file.read_text()
    assert run(capsys, "logout")[0] == EXIT_OK
    signed_in.write(token.strip())
    code, _, err = run(capsys, "write", closed_port, EXAMPLE, "--yes")
    assert code == EXIT_REFUSED and "sign in again" in err
    refused = read_audit_log(audit_log)
    assert [(r["action"], r["event"], r["outcome"], r["user"]) for r in refused] == [
        ("set_clock", "outcome", "refused", None), ("write", "outcome", "refused", None)]
    assert all(r["message"].endswith("; nothing was sent to the pump") for r in refused)
    signed_in.sign_in(TESS)
    listed = json.loads(run(capsys, "audit", "list", "--json")[1])["records"]
    assert [r["record"]["record_id"] for r in listed if r["record"].get("outcome") == "refused"] == [
        r["record_id"] for r in refused]


def test_the_commands_that_need_no_pump_need_no_sign_in(capsys, signed_in, tmp_path):
    signed_in.sign_out()
    assert run(capsys, "plan", EXAMPLE, "--reservoir-ml", 18)[0] == EXIT_OK
    assert run(capsys, "schema")[0] == EXIT_OK
    assert run(capsys, "library", "verify")[0] == EXIT_OK


def test_login_needs_a_password_it_can_read(capsys, signed_in, tmp_path):
    code, _, err = run(capsys, "login", "--user", "kim", "--password-file", tmp_path / "missing")
    assert code == EXIT_INVALID and "--password-file: cannot read" in err
    code, _, err = run(capsys, "login", "--user", "kim", "--hours", 30, "--password-file", tmp_path / "missing")
    assert code == EXIT_INVALID and "--hours: 30 h is outside 0.25 to 24 h" in err


# --- the first administrator and the accounts ----------------------------------------------------------------------


def test_the_first_administrator_is_created_once_then_adds_a_clinician_who_signs_in(capsys, tmp_path, monkeypatch,
                                                                                    password_file):
    url = clinic_db(tmp_path, filled=False)
    monkeypatch.setenv("ITB_DB", url)
    monkeypatch.setenv("ITB_TOKEN_FILE", str(tmp_path / "new-token"))
    code, out, _ = run(capsys, "users", "create-admin", "--user", "boss", "--name", "B. Oss", "--password-file",
                       password_file)
    assert code == EXIT_OK and "created the first administrator B. Oss (boss)" in out
    code, _, err = run(capsys, "users", "create-admin", "--user", "boss2", "--name", "B. Oss 2", "--password-file",
                       password_file)
    assert code == EXIT_REFUSED, err

    assert run(capsys, "login", "--user", "boss", "--password-file", password_file)[0] == EXIT_OK
    code, out, _ = run(capsys, "users", "add", "--user", "lee", "--name", "Dr Lee", "--role", "clinician",
                       "--password-file", password_file)
    assert (code, out) == (EXIT_OK, "added Dr Lee (lee), clinician\n")
    listed = json.loads(run(capsys, "users", "list", "--json")[1])["users"]
    assert sorted((u["username"], u["role"], u["disabled"]) for u in listed) == [
        ("boss", "administrator", False), ("lee", "clinician", False)]

    assert run(capsys, "users", "disable", "lee")[0] == EXIT_OK
    code, _, _ = run(capsys, "login", "--user", "lee", "--password-file", password_file)
    assert code == EXIT_REFUSED
    assert json.loads(run(capsys, "users", "list", "--json")[1])["users"][1]["disabled"] is True


def test_only_an_administrator_manages_users(capsys, signed_in, password_file):
    code, _, err = run(capsys, "users", "add", "--user", "x", "--name", "X", "--role", "tester", "--password-file",
                       password_file)
    assert code == EXIT_REFUSED and "a clinician may not manage users" in err and LOGIN in err


# --- roles at the pump: refused before anything is sent, audited, the pump unchanged ----------------------------


def test_a_technician_may_read_but_not_write_refill_or_give_a_bolus(capsys, filled, signed_in, tmp_path, audit_log):
    before = pump_state(capsys, filled)
    signed_in.sign_in(KIM)
    assert interrogate(capsys, filled)["program"]["checksum"] == before[0]  # reading is a technician's work
    audited = len(read_audit_log(audit_log))
    for argv, permission in (
            (("write", filled, program_file(tmp_path, 160), "--patient", PATIENT, "--yes"), "change therapy"),
            (("refill", filled, "--withdrawn-ml", 19.9, "--added-ml", 20, *SYRINGE, "--yes"), "refill"),
            (("bolus", filled, "--dose", 30, "--duration-min", 30, "--yes"), "give or stop a bolus")):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (EXIT_REFUSED, "")
        assert err == (f"pump-programmer: refused: Kim Tech (kim) is signed in as a technician, and a technician may "
                       f"not {permission}; sign in as someone who may, with {LOGIN}; nothing was sent to the pump\n")
    assert pump_state(capsys, filled) == before
    refused = read_audit_log(audit_log)[audited:]
    assert [(r["action"], r["event"], r["outcome"], r["user"], r["role"], r["clinician"]) for r in refused] == [
        (action, "outcome", "refused", "kim", "technician", "Kim Tech") for action in ("write", "refill", "bolus")]
    assert all(r["session_id"] and r["record_id"] for r in refused)


def test_a_tester_may_not_override_a_soft_limit(capsys, filled, signed_in, tmp_path, audit_log):
    before = pump_state(capsys, filled)
    signed_in.sign_in(TESS)
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, 200), "--override-soft-limits",
                       "titration plan agreed with the team", "--yes")
    assert code == EXIT_REFUSED and "a tester may not change therapy" in err
    assert pump_state(capsys, filled) == before
    assert read_audit_log(audit_log)[-1]["role"] == "tester"


def test_clinician_must_name_the_signed_in_user(capsys, filled, tmp_path, audit_log):
    before = pump_state(capsys, filled)
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, 160), "--clinician", "Dr Ng", "--yes")
    assert code == EXIT_REFUSED and "--clinician 'Dr Ng' is not the signed-in user, Dr A. Osei (osei)" in err
    assert pump_state(capsys, filled) == before
    for name, dose in (("osei", 155), ("Dr A. Osei", 160)):
        code, _, _ = run(capsys, "write", filled, program_file(tmp_path, dose), "--clinician", name, "--yes")
        assert code == EXIT_OK
    assert {r["clinician"] for r in read_audit_log(audit_log)} == {"Dr A. Osei"}


def test_the_token_file_is_found_as_documented():
    assert default_token_path({"ITB_TOKEN_FILE": "/x/token", "XDG_STATE_HOME": "/s"}) == Path("/x/token")
    assert default_token_path({"ITB_TOKEN_FILE": "", "XDG_STATE_HOME": "/s"}) == Path("/s/itb-programmer/token")
    assert default_token_path({"HOME": "/home/osei"}) == Path("/home/osei/.local/state/itb-programmer/token")


def test_an_abbreviated_option_is_not_taken_and_the_password_is_never_printed(capsys, tmp_path):
    secret = "clinician password long"
    for argv in (("--password", secret), (f"--password={secret}",), ("--pass", secret)):
        code, out, err = run(capsys, "login", "--user", "kim", *argv, "--token-file", tmp_path / "t")
        assert (code, out) == (EXIT_INVALID, "") and "unrecognized arguments: --pass" in err
        assert secret not in err and "clinician" not in err and not (tmp_path / "t").exists()


def test_a_token_file_others_may_read_is_refused_and_login_makes_private_directories(capsys, signed_in, tmp_path,
                                                                                   password_file):
    signed_in.token_file.chmod(0o644)
    code, out, err = run(capsys, "whoami")
    assert (code, out) == (EXIT_INVALID, "")
    assert err == (f"pump-programmer: invalid input: --token-file: {signed_in.token_file} may be read or written by "
                   f"others (mode 0644): a token must be its owner's only; run chmod 600 {signed_in.token_file}, or "
                   f"sign in again with {LOGIN}\n")
    signed_in.token_file.chmod(0o620)  # writable by the group: someone could put their own token in it
    assert run(capsys, "whoami")[0] == EXIT_INVALID
    signed_in.token_file.chmod(0o600)
    assert run(capsys, "whoami")[0] == EXIT_OK

    nested = tmp_path / "a" / "b" / "token"
    assert run(capsys, "login", "--user", "kim", "--password-file", password_file, "--token-file", nested)[0] == EXIT_OK
    assert [stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "a", tmp_path / "a" / "b", nested)] == [
        0o700, 0o700, 0o600]

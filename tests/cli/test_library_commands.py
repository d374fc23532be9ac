"""``pump-programmer library verify / sign / keygen``, and only approved libraries reaching a pump (issue 10).

The end-to-end tests run ``write --library`` against the real emulator: the reviewer's lax copy of the shipped
library (baclofen's hard maximum 100000, same name and version) signed by a key nobody trusts is refused with
exit code 2 and the pump keeps its program; a site library signed by a key the administrator added is used,
and its signer is in ``write --json`` and the audit record. Every key is a throwaway made here, never the
release key; ``pharmacy`` is one this test's own administrator trust store lists (tests/conftest.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from commandline import EXIT_INVALID
from programmer.audit import read_audit_log
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from programmer.library_signing import administrator_trust_path, read_private_key
from tests.support.cli_runs import DOCTOR, event_count, interrogate, program_file, run
from tests.support.library_data import shipped_data
from tests.support.library_signing import Signer, write_library

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "baclofen-simple.json"



def lax_copy() -> dict:
    """The reviewer's copy: the shipped library, same name and version, baclofen's hard maximum 100000."""
    data = shipped_data()
    data["drugs"][0]["daily_dose"]["hard_max"] = 100000
    return data


# --- a library reaching a pump --------------------------------------------------------------------------------


def test_the_lax_copy_signed_by_an_untrusted_key_is_refused_and_the_pump_keeps_its_program(capsys, tmp_path, filled,
                                                                                           audit_log, pharmacy):
    stranger = Signer("Ward 7")
    lax = write_library(tmp_path / "lax.json", lax_copy(), stranger)
    before, events = interrogate(capsys, filled), event_count(capsys, filled)
    records = len(read_audit_log(audit_log))
    code, out, err = run(capsys, "write", filled, program_file(tmp_path, 4500), *DOCTOR, "--yes", "--json",
                         "--override-soft-limits", "as the ward asked", "--library", lax)
    assert code == EXIT_INVALID and out == ""
    assert err == (f"pump-programmer: invalid input: {lax}.sig: key_id: {stranger.key_id} (signer 'Ward 7') is not "
                   "a key of the trust store (the keys shipped with the programmer and those in "
                   f"{administrator_trust_path()}): a library approved by an unknown key is never used\n")
    after = interrogate(capsys, filled)
    assert after["program"]["checksum"] == before["program"]["checksum"]
    assert after["therapy"] == {"mode": "simple_continuous", "daily_dose": 150.0}
    assert event_count(capsys, filled) == events  # nothing was sent: the library is checked before the pump
    assert len(read_audit_log(audit_log)) == records

    Path(f"{lax}.sig").unlink()  # the same copy unsigned: refused the same way, for its own reason
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, 4500), *DOCTOR, "--yes", "--library", lax)
    assert code == EXIT_INVALID and f"{lax}: not signed: there is no {lax}.sig beside it" in err
    assert interrogate(capsys, filled)["program"]["checksum"] == before["program"]["checksum"]


def test_a_library_signed_by_a_key_the_administrator_added_is_used_and_its_signer_recorded(capsys, tmp_path, filled,
                                                                                           audit_log, pharmacy):
    data = shipped_data()
    data["name"], data["version"] = "Site library", "site-3"
    site = write_library(tmp_path / "site.json", data, pharmacy)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    expected = {"name": "Site library", "version": "site-3", "sha256": hashlib.sha256(canonical).hexdigest(),
                "approved": "2026-11-30", "signer": "Test hospital pharmacy", "key_id": pharmacy.key_id}
    # 150 -> 165 mcg/day: +10 %, within the 20 % soft change limit.
    code, out, err = run(capsys, "write", filled, program_file(tmp_path, 165), *DOCTOR, "--yes", "--json",
                         "--library", site)
    assert code == EXIT_OK, err
    result = json.loads(out)
    assert result["outcome"] == "verified" and result["library"] == expected
    assert result["plan"]["library"] == expected
    attempt, outcome = read_audit_log(audit_log)[-2:]
    assert (attempt["event"], outcome["event"]) == ("attempt", "outcome")
    assert attempt["library"] == outcome["library"] == expected

    code, out, _ = run(capsys, "plan", EXAMPLE, "--reservoir-ml", 18, "--library", site)
    assert code == EXIT_OK
    assert out.splitlines()[-2:] == [
        f"Drug library  Site library site-3 (sha256 {expected['sha256'][:16]})",
        f"              approved 2026-11-30 by Test hospital pharmacy (key {pharmacy.key_id})"]


# --- library verify --------------------------------------------------------------------------------------------


def test_the_shipped_library_verifies(capsys):
    code, out, err = run(capsys, "library", "verify", "--json")
    assert code == EXIT_OK and err == ""
    result = json.loads(out)
    assert (result["name"], result["key_name"], result["trusted_by"]) == (
        "ITB default drug library", "ITB programmer development release key", "shipped")
    assert result["signature_file"] == result["file"] + ".sig"
    code, out, _ = run(capsys, "library", "verify")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0] == f"{result['file']}: approved: signed by a trusted key, unchanged since"
    assert lines[1] == f"Library       ITB default drug library {result['version']}"
    assert lines[2] == f"Approved      {result['approved']} by {result['signer']}"
    assert lines[3] == (f"Key           {result['key_id']} (ITB programmer development release key, shipped with "
                        "the programmer)")


def test_verify_refuses_a_changed_library_in_one_line(capsys, tmp_path, pharmacy):
    path = write_library(tmp_path / "site.json", shipped_data(), pharmacy)
    path.write_bytes(path.read_bytes() + b"\n")
    code, out, err = run(capsys, "library", "verify", path)
    assert code == EXIT_INVALID and out == ""
    assert len(err.splitlines()) == 1 and f"{path}: changed since it was approved" in err


# --- keygen, sign, then verify once the administrator trusts the key ----------------------------------------------


def test_keygen_writes_the_private_key_for_its_owner_only_and_never_over_a_file(capsys, tmp_path, administrator):
    key = tmp_path / "pharmacy.pem"
    previous = os.umask(0)  # the loosest umask: the key must still be its owner's alone
    try:
        code, out, err = run(capsys, "library", "keygen", "--out", key, "--name", "Ward 7 pharmacy")
    finally:
        os.umask(previous)
    assert code == EXIT_OK, err
    assert key.stat().st_mode & 0o777 == 0o600
    public = read_private_key(key).public_key().public_bytes(serialization.Encoding.Raw,
                                                             serialization.PublicFormat.Raw)
    entry = json.loads(out.splitlines()[-1])
    assert entry == {"key_id": hashlib.sha256(public).hexdigest()[:16], "name": "Ward 7 pharmacy",
                     "public_key": base64.b64encode(public).decode("ascii")}
    assert f"Key id        {entry['key_id']}" in out.splitlines()

    before = key.read_bytes()
    code, _, err = run(capsys, "library", "keygen", "--out", key)
    assert code == EXIT_INVALID
    assert err == f"pump-programmer: invalid input: --out: {key} already exists: a key is never overwritten\n"
    assert key.read_bytes() == before


def test_a_pharmacy_key_signs_and_is_accepted_once_the_administrator_adds_it(capsys, tmp_path, administrator,
                                                                            monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    key = tmp_path / "pharmacy.pem"
    code, out, _ = run(capsys, "library", "keygen", "--out", key, "--name", "Ward 7 pharmacy")
    assert code == EXIT_OK
    entry = json.loads(out.splitlines()[-1])
    library = write_library(tmp_path / "site.json", shipped_data())

    code, out, err = run(capsys, "library", "sign", library, "--key", key, "--signer", "Ward 7 pharmacy",
                         "--approved", "2026-11-30")
    assert code == EXIT_OK
    assert out == (f"signed {library}: ITB default drug library {shipped_data()['version']}, approved 2026-11-30 by "
                   f"Ward 7 pharmacy with key {entry['key_id']}; wrote {library}.sig\n")
    assert f"note: key {entry['key_id']} is not in this computer's trust store" in err
    assert run(capsys, "library", "verify", library)[0] == EXIT_INVALID  # not trusted yet

    trust = administrator_trust_path()
    trust.parent.mkdir(parents=True)
    trust.write_text(json.dumps({"format": "itb-library-trust/1", "keys": [entry]}), encoding="utf-8")
    code, out, _ = run(capsys, "library", "verify", library, "--json")
    assert code == EXIT_OK
    result = json.loads(out)
    assert {key: result[key] for key in ("approved", "signer", "key_id", "key_name", "trusted_by")} == {
        "approved": "2026-11-30", "signer": "Ward 7 pharmacy", "key_id": entry["key_id"],
        "key_name": "Ward 7 pharmacy", "trusted_by": "administrator"}


def test_only_an_administrator_makes_keys_and_signs_libraries(capsys, tmp_path):
    code, out, err = run(capsys, "library", "keygen", "--out", tmp_path / "key.pem")
    assert (code, out) == (EXIT_REFUSED, "") and not (tmp_path / "key.pem").exists()
    assert err == ("pump-programmer: refused: Dr A. Osei (osei) is signed in as a clinician, and a clinician may not "
                   "approve a drug library; sign in as someone who may, with pump-programmer login --user NAME\n")


def test_sign_refuses_an_invalid_library_and_writes_nothing(capsys, tmp_path, administrator):
    signer = tmp_path / "key.pem"
    assert run(capsys, "library", "keygen", "--out", signer)[0] == EXIT_OK
    data = shipped_data()
    data["drugs"][0]["daily_dose"]["soft_max"] = 2500  # above the hard maximum of 2000
    library = write_library(tmp_path / "bad.json", data)
    code, out, err = run(capsys, "library", "sign", library, "--key", signer, "--signer", "Ward 7 pharmacy")
    assert code == EXIT_INVALID and out == ""
    assert f"{library}: drugs[0].daily_dose" in err
    assert not Path(f"{library}.sig").exists()


@pytest.mark.parametrize("options, said", [
    (["--signer", "Ward 7", "--approved", "2026-02-30"], "--approved: '2026-02-30' is not a date written YYYY-MM-DD"),
    (["--signer", "   "], "--signer: is empty: name who approves the library"),
    (["--signer", "Ward 7", "--approved", (date.today() + timedelta(days=400)).isoformat()],
     "is after today"),
])
def test_sign_refuses_a_bad_signer_or_date(capsys, tmp_path, administrator, options, said):
    signer = tmp_path / "key.pem"
    assert run(capsys, "library", "keygen", "--out", signer)[0] == EXIT_OK
    library = write_library(tmp_path / "site.json", shipped_data())
    code, _, err = run(capsys, "library", "sign", library, "--key", signer, *options)
    assert code == EXIT_INVALID and said in err
    assert not Path(f"{library}.sig").exists()

"""``pump-programmer pair / unpair``, the insecure-link options and the wire trace's plaintext, end to end
against the real emulator (tests/support/emulator_fixtures.py).

A programmer of its own here (``$ITB_PAIRING_KEYS`` pointed at this test's file, a new id): the pump knows
it only once ``pair`` ran with the code the emulator printed for its pairing window.
"""

from __future__ import annotations

import json
import stat

import pytest

from commandline import EXIT_INVALID
from programmer.cli.support import EXIT_LINK_FAILED, EXIT_OK, EXIT_REFUSED
from programmer.pairing_keys import load_pairing_keys
from programmer.audit import read_audit_log
from tests.support.cli_runs import PATIENT, interrogate, run


@pytest.fixture
def own_keys(tmp_path, monkeypatch):
    """This test's programmer: a keys file of its own, not yet written (no key, a new id)."""
    path = tmp_path / "keys" / "pairing-keys.json"
    monkeypatch.setenv("ITB_PAIRING_KEYS", str(path))
    return path


def test_pair_interrogate_unpair_and_the_pump_then_asks_for_pairing_again(capsys, start_emulator, tmp_path,
                                                                          monkeypatch):
    pump = start_emulator("--pairing-window", "60")
    code_shown = pump.pairing_code()
    path = tmp_path / "keys" / "pairing-keys.json"
    monkeypatch.setenv("ITB_PAIRING_KEYS", str(path))

    code, out, err = run(capsys, "interrogate", pump.url)
    assert code == EXIT_LINK_FAILED and len(err.splitlines()) == 1
    assert f"is not paired with this programmer" in err and f"pump-programmer pair {pump.url} --code NNNNNN" in err
    assert f"serial {pump.serial}" in err

    code, out, err = run(capsys, "pair", pump.url, "--code", code_shown, "--json")
    assert (code, err) == (EXIT_OK, "")
    paired = json.loads(out)
    keys = load_pairing_keys(path)
    assert paired == {"paired": True, "model": "ITB-20", "serial": pump.serial, "programmer_id": keys.programmer_id,
                      "keys_file": str(path)}
    assert keys.key_for(pump.serial) is not None and stat.S_IMODE(path.stat().st_mode) == 0o600

    code, out, _ = run(capsys, "interrogate", pump.url, "--json")
    assert code == EXIT_OK and json.loads(out)["pump"]["serial"] == pump.serial

    code, out, err = run(capsys, "unpair", pump.url, "--json")
    assert (code, err) == (EXIT_OK, "")
    assert json.loads(out) == {"unpaired": True, "model": "ITB-20", "serial": pump.serial,
                               "programmer_id": keys.programmer_id}
    assert load_pairing_keys(path).key_for(pump.serial) is None
    code, _, err = run(capsys, "interrogate", pump.url)
    assert code == EXIT_LINK_FAILED and "is not paired with this programmer" in err


def test_a_wrong_code_is_refused_and_nothing_is_kept(capsys, start_emulator, own_keys):
    pump = start_emulator("--pairing-window", "60")
    shown = pump.pairing_code()
    wrong = f"{(int(shown) + 1) % 1_000_000:06d}"
    code, out, err = run(capsys, "pair", pump.url, "--code", wrong)
    assert (code, out) == (EXIT_REFUSED, "")
    assert err.startswith("pump-programmer: refused") and "nothing was paired" in err and len(err.splitlines()) == 1
    assert not own_keys.exists()


def test_pairing_without_an_open_window_is_refused(capsys, start_emulator, own_keys):
    pump = start_emulator()
    code, _, err = run(capsys, "pair", pump.url, "--code", "123456")
    assert code == EXIT_REFUSED and "pairing window is not open" in err
    assert not own_keys.exists()


@pytest.mark.parametrize("bad", ["12345", "1234567", "12 456", "abcdef"])
def test_a_code_that_is_not_six_digits_is_invalid_input_and_nothing_is_sent(capsys, closed_port, own_keys, bad):
    code, out, err = run(capsys, "pair", closed_port, "--code", bad)
    assert (code, out) == (EXIT_INVALID, "")
    assert err == (f"pump-programmer: invalid input: --code: a pairing code is 6 digits 0-9, as the pump shows it "
                   f"(got {bad!r}); nothing was sent\n")


def test_trace_plaintext_needs_a_trace(capsys, closed_port):
    code, _, err = run(capsys, "interrogate", closed_port, "--trace-plaintext")
    assert code == EXIT_INVALID and err.startswith("pump-programmer: invalid input: --trace-plaintext: ")


def test_the_trace_holds_patient_data_only_with_trace_plaintext(capsys, start_emulator, tmp_path):
    url = start_emulator().url
    opaque, plain = tmp_path / "opaque.trace", tmp_path / "plain.trace"
    assert run(capsys, "interrogate", url, "--trace", opaque)[0] == EXIT_OK
    assert run(capsys, "interrogate", url, "--trace", plain, "--trace-plaintext")[0] == EXIT_OK
    opaque_text, plain_text = opaque.read_text(), plain.read_text()
    assert "PLAIN (patient data)" not in opaque_text and '"volume_ml"'.encode().hex(" ") not in opaque_text
    plain_lines = [line for line in plain_text.splitlines() if " PLAIN (patient data) " in line]
    assert any("RX" in line and "READ_STATUS OK" in line and '"volume_ml"' in line for line in plain_lines)


@pytest.mark.parametrize("where", ["before", "after"])
def test_an_insecure_pump_is_read_with_a_warning_and_changed_only_when_allowed(capsys, start_emulator, where,
                                                                               audit_log, request):
    url = start_emulator("--insecure").url
    code, out, err = run(capsys, "set-low-alarm", url, "--ml", "3", "--patient", PATIENT, "--yes")
    assert (code, out) == (EXIT_REFUSED, "")
    warning, refusal = err.splitlines()
    assert warning.startswith(f"INSECURE LINK: {url} speaks only protocol version 1: ")
    assert "nothing that changes the pump will be sent (--allow-insecure-link allows it)" in warning
    assert refusal.startswith("pump-programmer: refused while setting the low-reservoir alarm") \
        and "is not secure" in refusal and refusal.endswith("the low-reservoir alarm is unchanged")

    allow = ["--allow-insecure-link"]
    argv = [*allow, "set-low-alarm", url, "--ml", "3", "--yes"] if where == "before" else \
        ["set-low-alarm", url, "--ml", "3", "--yes", *allow]  # the pump is TEST-0001's since the first try
    code, out, err = run(capsys, *argv)  # a clinician may not use a link that is not encrypted: only a tester may
    assert (code, out) == (EXIT_REFUSED, "")
    assert err == ("pump-programmer: refused: Dr A. Osei (osei) is signed in as a clinician, and a clinician may not "
                   "use a link that is not encrypted; sign in as someone who may, with pump-programmer login --user "
                   "NAME; nothing was sent to the pump\n")  # refused before the pump is contacted: no INSECURE line
    assert interrogate(capsys, url)["reservoir"]["low_alarm_ml"] == 2  # the emulator's own, unchanged
    refused = read_audit_log(audit_log)[-1]
    assert (refused["action"], refused["event"], refused["outcome"], refused["user"]) == (
        "set_low_alarm", "outcome", "refused", "osei")

    request.getfixturevalue("insecure_links_allowed")  # the test rig's clinician, as the proxy tests need
    code, out, err = run(capsys, *argv)
    assert code == EXIT_OK and "now 3 mL (read back)" in out
    assert err.startswith("INSECURE LINK: ") and "changes are sent all the same" in err and len(err.splitlines()) == 1

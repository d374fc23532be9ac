"""``pump-programmer interrogate / write / events / refill`` end to end against the real emulator.

The emulator runs as a subprocess on loopback TCP (tests/support/emulator_fixtures.py); the command line runs in
process through ``main(argv)`` (tests/support/cli_runs.py), so each test sees exit codes, stdout and stderr
exactly as a script would; tests/cli/conftest.py gives each test its own audit log and loopback link timings.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from protocol import Command, Status, encode_frame
from programmer.audit import read_audit_log
from commandline import EXIT_INVALID
from programmer.cli.support import EXIT_LINK_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_VERIFY_FAILED
from programmer.program import FORMAT, Drug, Program, Stopped, load_program
from tests.support.cli_runs import (DOCTOR, LINK_EVENTS, PATIENT, SYRINGE, event_count, interrogate, program_file,
                                    run, syringe)
from tests.support.emulator_fixtures import FrameProxy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "baclofen-simple.json"
CHART = ("--previous-daily-dose", 150)
"""A first program after a fill needs what the patient had before (tests/cli/test_first_programs.py): here the
chart's 150 mcg/day, the example's dose."""



@pytest.fixture
def filled(capsys, start_emulator) -> str:
    """An emulated pump filled with 20 mL of baclofen 500 mcg/mL, running the example (150 mcg/day)."""
    url = start_emulator().url
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")[0] == EXIT_OK
    assert run(capsys, "write", url, EXAMPLE, *DOCTOR, *CHART, "--yes")[0] == EXIT_OK
    return url


def test_a_factory_new_pump_is_filled_programmed_and_read(capsys, start_emulator, audit_log):
    url = start_emulator().url

    new = interrogate(capsys, url)
    assert new["drug"] is None and new["therapy"] == {"mode": "stopped"}
    assert {"model", "serial", "firmware", "capacity_ml"} <= new["pump"].keys()
    assert abs(new["clock"]["drift_s"]) < 5 and new["battery"]["status"] == "ok" and new["alarms"] == []

    code, _, err = run(capsys, "write", url, EXAMPLE, *DOCTOR, "--yes")
    assert code == EXIT_REFUSED
    assert "refill the pump with a drug first" in err

    code, out, _ = run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes",
                       "--json")
    refill = json.loads(out)
    assert code == EXIT_OK and refill["outcome"] == "verified"
    assert refill["active"]["drug"] == {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500.0}
    assert refill["active"]["therapy"] == {"mode": "stopped"}

    code, out, _ = run(capsys, "write", url, EXAMPLE, *DOCTOR, *CHART, "--yes")
    checksum = load_program(EXAMPLE).checksum()
    assert code == EXIT_OK
    assert f"the pump now runs {checksum} (baclofen 500 mcg/mL, simple continuous 150 mcg/day)" in out

    pump = interrogate(capsys, url)
    assert pump["therapy"] == {"mode": "simple_continuous", "daily_dose": 150.0}
    assert pump["program"]["checksum"] == checksum
    # 0.3 mL/day from what the pump holds now, counted from the pump's clock
    pump_time = datetime.fromisoformat(pump["clock"]["pump_time"])
    volume = pump["reservoir"]["volume_ml"]
    assert 19.99 < volume <= 20
    for key, above in (("low_alarm_at", 2.0), ("empty_at", 0.0)):
        expected = pump_time + timedelta(days=(volume - above) / 0.3)
        assert abs(datetime.fromisoformat(pump["reservoir"][key]) - expected) < timedelta(seconds=2)

    code, out, _ = run(capsys, "events", url, "--json")
    events = json.loads(out)["events"]
    assert events[-1]["kind"] == "session_started"  # the newest event: this command's own session
    assert events[-1]["detail"]["programmer_id"] == "test-programmer"
    kinds = [event["kind"] for event in events if event["kind"] not in LINK_EVENTS]
    assert code == EXIT_OK and kinds[0] == "power_on" and "refill" in kinds and kinds[-1] == "program_activated"
    code, out, _ = run(capsys, "events", url, "--csv")
    rows = [row for row in csv.DictReader(io.StringIO(out)) if row["kind"] not in LINK_EVENTS]
    assert code == EXIT_OK and [row["kind"] for row in rows] == kinds
    assert json.loads(rows[-1]["detail"])["checksum"] == checksum

    records = read_audit_log(audit_log)
    assert [(r["action"], r["event"], r["outcome"]) for r in records] == [
        ("write", "outcome", "refused"),
        ("refill", "attempt", None), ("refill", "outcome", "verified"),
        ("write", "attempt", None), ("write", "outcome", "verified"),
    ]
    assert {r["pump_serial"] for r in records} == {new["pump"]["serial"]}
    assert records[-1]["new_checksum"] == records[-1]["active_checksum"] == checksum


# --- exit 2: invalid input, nothing sent (a closed port would have given 4) --------------------------


@pytest.mark.parametrize("argv, words", [
    (("write", "{port}", EXAMPLE, *DOCTOR), "--yes"),
    (("write", "{port}", EXAMPLE, *DOCTOR, "--yes", "--override-soft-limits", " "), "reason"),
    (("write", "{port}", "{missing}", *DOCTOR, "--yes"), "cannot read file"),
    (("write", "{port}", "{bad}", *DOCTOR, "--yes"), "therapy.daily_dose"),
    (("refill", "{port}", "--withdrawn-ml", 1, "--added-ml", 20, "--drug", "baclofen", *DOCTOR, "--yes"),
     "missing: --dose-unit, --concentration, --lot, --expiry"),
    (("refill", "{port}", "--withdrawn-ml", -1, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes"),
     "--withdrawn-ml: -1.0 mL is not a volume"),
    (("refill", "{port}", "--withdrawn-ml", 1, "--added-ml", 20, *SYRINGE, *DOCTOR), "--yes"),
    (("refill", "{port}", "--withdrawn-ml", -1, "--check"), "--withdrawn-ml: -1.0 mL is not a volume"),
    (("refill", "{port}", "--withdrawn-ml", 1, "--added-ml", "ten", *SYRINGE, *DOCTOR, "--yes"), "not a number"),
    (("refill", "{port}", "--withdrawn-ml", 1, "--added-ml", 20, *syringe(lot=" "), *DOCTOR, "--yes"),
     "--lot: the syringe's lot number is required"),
    (("refill", "{port}", "--withdrawn-ml", 1, "--added-ml", 20, *syringe(expiry="31/12/2099"), *DOCTOR, "--yes"),
     "is not a date as YYYY-MM-DD"),
    (("interrogate", "{port}", "--trace", "{missing}/wire.log"), "--trace: cannot write"),
])
def test_invalid_input_sends_nothing(capsys, tmp_path, closed_port, audit_log, argv, words):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "itb-program/1", "drug": {"name": "baclofen", "dose_unit": "mcg", '
                   '"concentration_per_ml": 500}, "therapy": {"mode": "simple_continuous", "daily_dose": "150"}}')
    names = {"port": closed_port, "missing": tmp_path / "nope.json", "bad": bad}
    code, out, err = run(capsys, *(str(a).format(**names) if isinstance(a, str) else a for a in argv))
    assert code == EXIT_INVALID
    assert words in err and len(err.strip().splitlines()) == 1
    assert not audit_log.exists() or read_audit_log(audit_log) == []


# --- exit 3: refused by a safety limit, nothing written -----------------------------------------------


def test_a_hard_limit_refuses_even_with_an_override(capsys, tmp_path, filled):
    before = event_count(capsys, filled)
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, 2500), *DOCTOR, "--yes",
                       "--override-soft-limits", "tolerance tested")
    assert code == EXIT_REFUSED
    assert "DAILY_DOSE_ABOVE_HARD_MAX: daily dose 2500 mcg/day is above the hard maximum 2000 mcg/day" in err
    assert len(err.strip().splitlines()) == 1, err  # docs/cli.md: one line on stderr
    assert event_count(capsys, filled) == before


def test_a_warning_refuses_until_overridden_with_a_reason(capsys, tmp_path, filled, audit_log):
    program = program_file(tmp_path, 200)  # +33 % from 150: the soft limit is 20 %
    code, out, err = run(capsys, "write", filled, program, *DOCTOR, "--yes", "--json")
    assert code == EXIT_REFUSED
    assert json.loads(out)["outcome"] == "needs_override"
    assert "CHANGE_ABOVE_SOFT_LIMIT" in err and "--override-soft-limits" in err
    assert len(err.strip().splitlines()) == 1, err
    assert interrogate(capsys, filled)["therapy"]["daily_dose"] == 150

    code, out, _ = run(capsys, "write", filled, program, *DOCTOR, "--yes", "--json",
                       "--override-soft-limits", "planned titration")
    result = json.loads(out)
    assert code == EXIT_OK
    assert (result["outcome"], result["active"]["therapy"]["daily_dose"]) == ("verified", 200)
    assert [w["code"] for w in result["warnings"]] == ["CHANGE_ABOVE_SOFT_LIMIT"] and result["errors"] == []
    assert result["library"]["name"] == "ITB default drug library"
    assert read_audit_log(audit_log)[-1]["override_reason"] == "planned titration"


def test_a_daily_dose_finer_than_the_library_step_is_refused_and_the_pump_keeps_its_program(capsys, tmp_path,
                                                                                            filled, audit_log):
    # Baclofen's daily dose is given in steps of 0.1 mcg/day: 187.52 has two decimal places. It is also
    # +25 % on the 150 running (a warning the override settles); the step is an error no override settles.
    before, events = interrogate(capsys, filled), event_count(capsys, filled)
    override = ("--override-soft-limits", "planned titration")
    code, out, err = run(capsys, "write", filled, program_file(tmp_path, 187.52), *DOCTOR, *override, "--yes",
                         "--json")
    assert code == EXIT_REFUSED
    result = json.loads(out)
    assert result["outcome"] == "refused"
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("DOSE_FINER_THAN_ENTRY_STEP", "therapy.daily_dose")]
    assert ("refused: DOSE_FINER_THAN_ENTRY_STEP: daily dose 187.52 mcg/day is finer than the 0.1 mcg/day this "
            "library allows for baclofen: type it in steps of 0.1 mcg/day") in err
    assert len(err.strip().splitlines()) == 1, err
    after = interrogate(capsys, filled)
    assert after["therapy"] == before["therapy"] == {"mode": "simple_continuous", "daily_dose": 150.0}
    assert after["program"]["checksum"] == before["program"]["checksum"]
    assert event_count(capsys, filled) == events
    assert [f["code"] for f in read_audit_log(audit_log)[-1]["findings"] if f["severity"] == "error"] == [
        "DOSE_FINER_THAN_ENTRY_STEP"]

    # 187.5, a whole number of steps, is written.
    code, out, _ = run(capsys, "write", filled, program_file(tmp_path, 187.5), *DOCTOR, *override, "--yes", "--json")
    assert code == EXIT_OK and json.loads(out)["active"]["therapy"]["daily_dose"] == 187.5


@pytest.mark.parametrize("program, code_name", [
    ({"concentration": 1000}, "CONCENTRATION_DIFFERS_FROM_PUMP"),
    ({"name": "morphine", "unit": "mg", "concentration": 10, "daily_dose": 5}, "DRUG_DIFFERS_FROM_PUMP"),
])
def test_a_new_drug_or_concentration_in_a_write_is_refused(capsys, tmp_path, filled, program, code_name):
    before = event_count(capsys, filled)
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, **program), *DOCTOR, "--yes")
    assert code == EXIT_REFUSED
    assert code_name in err and "is a refill" in err
    assert event_count(capsys, filled) == before


# --- exit 4: the link failed -----------------------------------------------------------------------


@pytest.mark.parametrize("argv, words", [
    (("interrogate", "{port}"), "nothing was sent that changes the pump"),
    (("events", "{port}", "--csv"), "nothing was sent that changes the pump"),
    (("write", "{port}", EXAMPLE, *DOCTOR, "--yes"), "the pump's program is unchanged"),
    (("refill", "{port}", "--withdrawn-ml", 1, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes"),
     "the pump's program is unchanged"),
])
def test_a_closed_port_is_a_link_failure(capsys, closed_port, argv, words):
    code, _, err = run(capsys, *(a.format(port=closed_port) if isinstance(a, str) else a for a in argv))
    assert code == EXIT_LINK_FAILED
    assert words in err and len(err.strip().splitlines()) == 1


def test_a_link_lost_after_the_commit_says_the_program_could_not_be_confirmed(capsys, tmp_path, filled):
    committed = []

    def cut_after_commit(direction, frame, wire):
        if direction == "to_pump" and frame is not None and frame.command == Command.COMMIT_PROGRAM:
            committed.append(frame)
        return None if committed and direction == "to_client" else wire

    proxy = FrameProxy(filled, cut_after_commit)
    try:
        code, _, err = run(capsys, "write", proxy.url, program_file(tmp_path, 160), *DOCTOR, "--yes")
    finally:
        proxy.close()
    assert code == EXIT_LINK_FAILED
    assert "could not confirm which program the pump runs" in err and "interrogate it" in err
    # the commit itself got through, so the pump does run the new program: the message did not guess
    assert interrogate(capsys, filled)["therapy"]["daily_dose"] == 160


# --- one handler: every kind of error ends a command with its exit code and one line -----------------


INSECURE = ("--allow-insecure-link",)
"""The tests below rewrite the pump's answers on the way (``FrameProxy``): over the secure link no rewritten
answer is ever taken, so they talk to an ``--insecure`` emulator, and allow that (docs/cli.md)."""


def refusing(command: Command):
    """A frame filter under which the pump answers ``command`` with a refusal (status REFUSED)."""
    def refuse(direction, frame, wire):
        if direction == "to_client" and frame is not None and frame.command == command:
            refusal = replace(frame, status=Status.REFUSED, payload={"error": "in service mode"}, compact=False)
            return encode_frame(refusal)  # a refusal is JSON, whatever the session's encoding
        return wire
    return refuse


@pytest.mark.usefixtures("insecure_links_allowed")
@pytest.mark.parametrize("argv, command, line", [
    (("interrogate", "{port}"), Command.READ_STATUS,
     "refused while interrogating {port}: pump refused (REFUSED): read status: in service mode; "
     "nothing was sent that changes the pump"),
    (("events", "{port}"), Command.READ_EVENTS,
     "refused while reading the event log of {port}: pump refused (REFUSED): read events: in service mode; "
     "nothing was sent that changes the pump"),
    (("set-clock", "{port}", "--yes"), Command.SET_CLOCK,
     "refused while setting the clock of {port}: pump refused (REFUSED): set clock: in service mode; "
     "the pump clock is unchanged"),
    (("set-low-alarm", "{port}", "--ml", "5", "--patient", PATIENT, "--yes"), Command.SET_LOW_ALARM,
     "refused while setting the low-reservoir alarm of {port}: pump refused (REFUSED): set low alarm: in service "
     "mode; the low-reservoir alarm is unchanged"),
    (("write", "{port}", EXAMPLE, *DOCTOR, "--yes"), Command.READ_STATUS,
     "refused while interrogating {port}: pump refused (REFUSED): read status: in service mode; "
     "nothing was sent: the pump's program is unchanged"),
])
def test_a_pump_that_refuses_ends_the_command_with_exit_3(capsys, start_emulator, audit_log, argv, command, line):
    proxy = FrameProxy(start_emulator("--insecure").url, refusing(command))
    try:
        code, out, err = run(capsys, *INSECURE, *(a.format(port=proxy.url) if isinstance(a, str) else a for a in argv))
    finally:
        proxy.close()
    warning, refusal = err.splitlines()
    assert (code, out, refusal) == (EXIT_REFUSED, "", f"pump-programmer: {line.format(port=proxy.url)}")
    assert warning.startswith(f"INSECURE LINK: {proxy.url} speaks only protocol version 1")
    if argv[0] == "write":  # nothing reached the pump, and the audit log says so, in the same words
        record = read_audit_log(audit_log)[-1]
        assert (record["outcome"], record["message"]) == ("unchanged", line.format(port=proxy.url))


def test_an_attempt_that_cannot_be_audited_ends_with_exit_3_and_sends_nothing(capsys, tmp_path, filled, audit_log):
    def audit_log_gone_while_interrogating(direction, frame, wire):
        reading_events = direction == "to_pump" and frame is not None and frame.command == Command.READ_EVENTS
        if reading_events and audit_log.is_file():
            audit_log.unlink()
            audit_log.mkdir()  # the attempt record, appended after the interrogation, cannot be written
        return wire

    proxy = FrameProxy(filled, audit_log_gone_while_interrogating)
    try:
        code, _, err = run(capsys, "write", proxy.url, program_file(tmp_path, 160), *DOCTOR, "--yes")
    finally:
        proxy.close()
    assert (code, err) == (EXIT_REFUSED, f"pump-programmer: refused: cannot write the audit log {audit_log}: "
                                         "Is a directory; nothing was sent to the pump\n")
    assert interrogate(capsys, filled)["therapy"]["daily_dose"] == 150


def test_a_link_failure_that_cannot_be_audited_says_both_with_exit_4(capsys, start_emulator, audit_log):
    def cut_and_lose_the_audit_log(direction, frame, wire):
        if audit_log.is_file():
            audit_log.unlink()
            audit_log.mkdir()
        return None  # nothing gets through: connecting fails

    proxy = FrameProxy(start_emulator().url, cut_and_lose_the_audit_log)
    try:
        code, _, err = run(capsys, "write", proxy.url, EXAMPLE, *DOCTOR, "--yes")
    finally:
        proxy.close()
    assert code == EXIT_LINK_FAILED
    assert err.startswith("pump-programmer: link failed: connect: ") and len(err.splitlines()) == 1
    assert err.endswith(f"; nothing was sent: the pump's program is unchanged (and the audit log could not be "
                        f"written: cannot write the audit log {audit_log}: Is a directory)\n")


# --- exit 5: written, but the read-back did not match -------------------------------------------------


@pytest.fixture
def filled_insecure(capsys, start_emulator, insecure_links_allowed) -> str:
    """As ``filled``, on an ``--insecure`` emulator (for the tests that rewrite its answers)."""
    url = start_emulator("--insecure").url
    assert run(capsys, *INSECURE, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR,
               "--yes")[0] == EXIT_OK
    assert run(capsys, *INSECURE, "write", url, EXAMPLE, *DOCTOR, *CHART, "--yes")[0] == EXIT_OK
    return url


def test_a_read_back_that_differs_from_the_request_is_exit_5(capsys, tmp_path, filled_insecure):
    committed = []
    other = load_program(program_file(tmp_path, 151))

    def lie_after_commit(direction, frame, wire):
        if frame is None:
            return wire
        if direction == "to_pump" and frame.command == Command.COMMIT_PROGRAM:
            committed.append(frame)
        if committed and direction == "to_client" and frame.command == Command.READ_PROGRAM:
            document = other.model_dump(mode="json")
            payload = {"drug": document["drug"], "therapy": document["therapy"], "checksum": other.checksum()}
            return encode_frame(replace(frame, payload=payload))
        return wire

    proxy = FrameProxy(filled_insecure, lie_after_commit)
    try:
        code, _, err = run(capsys, *INSECURE, "write", proxy.url, program_file(tmp_path, 160), *DOCTOR, "--yes")
    finally:
        proxy.close()
    assert code == EXIT_VERIFY_FAILED
    assert f"the pump reports {other.checksum()}" in err


@pytest.mark.usefixtures("insecure_links_allowed")
def test_a_refill_whose_status_disagrees_on_the_checksum_is_not_verified(capsys, start_emulator, audit_log):
    # A pump filled with baclofen 500 mcg/mL runs nothing; a refill at 1000 mcg/mL changes its program (and
    # checksum) to baclofen 1000 stopped. After the REFILL the proxy makes READ_STATUS keep naming the old program
    # while READ_PROGRAM (passed untouched) names the new one: the two read-backs disagree, so the refill cannot
    # be verified.
    url = start_emulator("--insecure").url
    assert run(capsys, *INSECURE, "refill", url, "--withdrawn-ml", 0, "--added-ml", 10, *SYRINGE, *DOCTOR, "--yes")[0] == EXIT_OK
    old = Program(format=FORMAT, drug=Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500),
                  therapy=Stopped(mode="stopped")).checksum()
    new = Program(format=FORMAT, drug=Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000),
                  therapy=Stopped(mode="stopped")).checksum()
    refilled, rewritten = [], []

    def stale_status_after_refill(direction, frame, wire):
        if frame is None:
            return wire
        if direction == "to_pump" and frame.command == Command.REFILL:
            refilled.append(frame)
        if refilled and direction == "to_client" and frame.command == Command.READ_STATUS:
            rewritten.append(frame.payload["program_checksum"])
            return encode_frame(replace(frame, payload=frame.payload | {"program_checksum": old}))
        return wire

    proxy = FrameProxy(url, stale_status_after_refill)
    try:
        code, out, _ = run(capsys, *INSECURE, "refill", proxy.url, "--withdrawn-ml", 10, "--added-ml", 20,
                           *syringe(concentration=1000), *DOCTOR, "--yes", "--json",
                           "--override-soft-limits", "concentration doubled while nothing is delivered")
    finally:
        proxy.close()
    result = json.loads(out)
    assert rewritten == [new], "exactly the one read-back after the refill was altered, and it named the new program"
    assert code == EXIT_VERIFY_FAILED
    assert result["outcome"] == "mismatch"
    assert result["active"]["checksum"] == new  # READ_PROGRAM was not altered ...
    assert f"(expected {new})" in result["message"]
    # ... and the pump did record the refill: only its verification failed.
    pump = interrogate(capsys, url)
    assert pump["drug"]["concentration_per_ml"] == 1000 and pump["therapy"] == {"mode": "stopped"}
    outcomes = [record["outcome"] for record in read_audit_log(audit_log) if record["event"] == "outcome"]
    assert outcomes[-1] == "mismatch"


def test_trace_writes_the_wire_in_hex(capsys, tmp_path, filled):
    trace = tmp_path / "wire.log"
    assert run(capsys, "interrogate", filled, "--trace", trace)[0] == EXIT_OK
    lines = trace.read_text().splitlines()
    assert any(" TX " in line and "IDENTIFY" in line for line in lines)
    assert any(" RX " in line for line in lines)


# --- the tester's report: escalation, a pump that does not deliver, a clock 30 days behind ------------------


def pump_wire(url: str):
    """A bare wire client on the emulator (for SERVICE and SET_CLOCK), HELLO said."""
    from tests.support.emulator_support import WireClient

    client = WireClient(url)
    client.hello()
    return client


def test_writes_of_plus_20_percent_each_stop_where_24_hours_of_titration_would(capsys, filled, tmp_path):
    # The emulator logged 0 -> 150 when `filled` wrote the example. 180 is +20 % (at the step); 216 is +20 % on
    # 180 but 216 / 150 = +44 % within 24 h (soft); 259.2 / 150 = +72.8 % (hard: no override helps).
    assert run(capsys, "write", filled, program_file(tmp_path, 180), *DOCTOR, "--yes")[0] == EXIT_OK
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, 216), *DOCTOR, "--yes")
    assert code == EXIT_REFUSED and "needs an override: CHANGE_24H_ABOVE_SOFT_LIMIT" in err and "+44.0 %" in err
    override = ("--override-soft-limits", "spinal origin, titration plan")
    assert run(capsys, "write", filled, program_file(tmp_path, 216), *DOCTOR, *override, "--yes")[0] == EXIT_OK
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, 259.2), *DOCTOR, *override, "--yes")
    assert code == EXIT_REFUSED and "refused: CHANGE_24H_ABOVE_HARD_LIMIT" in err and "+72.8 %" in err
    pump = interrogate(capsys, filled)
    assert pump["therapy"]["daily_dose"] == 216.0
    assert (pump["dose_24h_ago"]["daily_dose"], pump["dose_24h_ago"]["programs_activated"]) == (150.0, 2)


def test_a_pump_at_end_of_service_is_reported_as_not_delivering(capsys, start_emulator, tmp_path):
    from protocol.codes import Status

    url = start_emulator("--service").url
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")[0] == EXIT_OK
    assert run(capsys, "write", url, EXAMPLE, *DOCTOR, *CHART, "--yes")[0] == EXIT_OK
    client = pump_wire(url)
    try:
        assert client.call(0x70, {"action": "set_battery", "percent": 0}).status == Status.OK
    finally:
        client.close()

    pump = interrogate(capsys, url)
    assert pump["delivering"] is False and "end of service" in pump["not_delivering_reason"]
    assert pump["reservoir"]["low_alarm_at"] is None and pump["reservoir"]["empty_at"] is None
    code, out, _ = run(capsys, "interrogate", url)
    assert code == EXIT_OK and "NOT DELIVERING" in out and "none while the pump is not delivering" in out

    code, _, err = run(capsys, "write", url, program_file(tmp_path, 160), *DOCTOR, "--yes")
    assert code == EXIT_REFUSED and "needs an override: PUMP_NOT_DELIVERING" in err and "critical alarm eos" in err
    code, _, err = run(capsys, "refill", url, "--withdrawn-ml", 20, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")
    assert code == EXIT_REFUSED and "PUMP_NOT_DELIVERING" in err
    code, out, _ = run(capsys, "write", url, program_file(tmp_path, 160), *DOCTOR, "--yes",
                       "--override-soft-limits", "replacement booked tomorrow")
    assert code == EXIT_OK and "but the pump is NOT DELIVERING (critical alarm eos" in out


def test_a_pump_clock_30_days_behind_must_be_set_before_a_write(capsys, filled, tmp_path):
    from protocol.codes import Command, Status

    client = pump_wire(filled)
    try:
        behind = (datetime.now() - timedelta(days=30)).replace(microsecond=0).isoformat()
        assert client.call(Command.SET_CLOCK, {"time": behind}).status == Status.OK
    finally:
        client.close()
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, 160), *DOCTOR, "--yes")
    assert code == EXIT_REFUSED and "needs an override: CLOCK_DRIFT: the pump clock is 30 days behind" in err
    assert "pump-programmer set-clock" in err

    # What the message says to do, done: the clock is set, read back, and the write then goes through.
    code, _, err = run(capsys, "set-clock", filled)
    assert code == EXIT_INVALID and "--yes" in err
    code, out, _ = run(capsys, "set-clock", filled, "--yes", "--json")
    result = json.loads(out)
    assert code == EXIT_OK and abs(result["drift_s"]) <= 5
    assert datetime.fromisoformat(result["pump_time_before"]) < datetime.now() - timedelta(days=29)
    assert abs((datetime.fromisoformat(result["pump_time"]) - datetime.now()).total_seconds()) < 10
    code, out, _ = run(capsys, "write", filled, program_file(tmp_path, 160), *DOCTOR, "--yes")
    assert code == EXIT_OK, out

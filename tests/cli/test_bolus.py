"""``pump-programmer bolus / prime / cancel-bolus / bolus-status / demand-dose`` end to end against the real emulator.

The pump: an emulated ITB-20 filled with 20 mL of baclofen 500 mcg/mL running 150 mcg/day (0.3 mL/day). Every figure
below is worked out by hand from those: a 60 cm catheter and 0.15 mL of tubing hold 0.15 + 60 x 0.0026 = 0.306 mL,
primed at 1.0 mL/h in 0.306 x 60 = 18.36 min; a bolus of 50 mcg is 0.1 mL. "Nothing sent" is read in the pump's own
event log: no ``bolus_started``. The link faults are those of tests/drivers/test_faults.py: a FrameProxy that loses
the answers a test names, so the pump acts and the programmer does not hear it.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial

import pytest

from commandline import EXIT_INVALID
from programmer.audit import read_audit_log
from programmer.cli import bolus_commands
from programmer.cli import pump_commands as cli_pump
from programmer.port import open_driver
from programmer.cli.support import EXIT_OK, EXIT_REFUSED, EXIT_VERIFY_FAILED
from protocol import Command, Status
from tests.support.cli_runs import DOCTOR, SYRINGE, hours_pass, interrogate, program_file, run
from tests.support.emulator_fixtures import LOOPBACK_LINK, FrameProxy
from tests.support.emulator_support import WireClient

CHART = ("--previous-daily-dose", 150)
LINE_ML = 0.306
"""0.15 mL of ITB-20 tubing and 60 cm of catheter at 0.0026 mL/cm."""


def filled(capsys, tmp_path, start_emulator, added_ml: float = 20, *options: str) -> str:
    """A new pump filled with ``added_ml`` of baclofen 500 mcg/mL running 150 mcg/day."""
    url = start_emulator("--service", *options).url
    override = ("--override-soft-limits", "a nearly empty pump on purpose") if added_ml < 3 else ()
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", added_ml, *SYRINGE, *DOCTOR, "--yes",
               *override)[0] == EXIT_OK
    code, _, err = run(capsys, "write", url, program_file(tmp_path, 150), *DOCTOR, *CHART, "--yes", *override)
    assert code == EXIT_OK, err
    return url


@pytest.fixture
def pump(capsys, tmp_path, start_emulator) -> str:
    return filled(capsys, tmp_path, start_emulator)


@pytest.fixture
def primed(capsys, pump) -> str:
    """The pump primed through a 60 cm catheter an hour ago (the prime took 18.36 min): its line is full of drug."""
    assert run(capsys, "prime", pump, "--catheter-cm", 60, "--reason", "implant", *DOCTOR, "--yes")[0] == EXIT_OK
    hours_pass(capsys, pump, 1)
    return pump


def pump_log(capsys, url: str, kind: str) -> list[dict]:
    code, out, _ = run(capsys, "events", url, "--json")
    assert code == EXIT_OK
    return [event["detail"] for event in json.loads(out)["events"] if event["kind"] == kind]


def test_a_prime_after_an_implant_fills_the_line_from_the_catheter_length(capsys, pump, audit_log):
    code, out, err = run(capsys, "prime", pump, "--catheter-cm", 60, "--reason", "implant", *DOCTOR, "--yes", "--json")
    assert code == EXIT_OK, err
    result = json.loads(out)
    assert (result["action"], result["outcome"], result["errors"]) == ("prime", "verified", [])
    # a new pump's first fill left its 0.15 mL of tubing empty of drug (no catheter was recorded): the implant's prime
    # pushes none to the patient, so it needs no reason (the program ran for moments: far under the 0.0005 mL counted)
    assert result["warnings"] == [] and result["prime"]["pushed_dose"] == pytest.approx(0.0, abs=0.25)
    prime = result["prime"]
    assert prime["volume_ml"] == pytest.approx(LINE_ML) and prime["tubing_ml"] == 0.15
    assert prime["duration_min"] == pytest.approx(18.36) and prime["ml_per_hour"] == 1.0
    assert prime["dose"] == pytest.approx(153.0)  # 0.306 mL of 500 mcg/mL moved into the line
    reported = result["pump_reported"]
    assert (reported["bolus_id"], reported["kind"], reported["state"]) == (result["bolus_id"], "prime", "delivering")
    [started] = pump_log(capsys, pump, "bolus_started")
    assert (started["bolus_id"], started["kind"], started["reason"], started["catheter_cm"]) == (
        result["bolus_id"], "prime", "implant", 60.0)
    attempt = [record for record in read_audit_log(audit_log) if record["action"] == "prime"][0]
    assert attempt["event"] == "attempt" and attempt["bolus"]["bolus_id"] == result["bolus_id"]
    code, out, _ = run(capsys, "bolus-status", pump, "--bolus-id", result["bolus_id"])
    assert code == EXIT_OK and f"bolus {result['bolus_id']} (prime" in out and "delivering" in out
    pumped = interrogate(capsys, pump)
    line = pumped["line"]
    assert (pumped["bolus"]["kind"], line["catheter_cm"], line["volume_ml"]) == ("prime", 60.0,
                                                                                pytest.approx(LINE_ML))
    assert line["contents"][0]["concentration_per_ml"] == 0.0  # spinal fluid at the tip, the drug on its way
    code, out, _ = run(capsys, "interrogate", pump)
    assert "Line          0.306 mL (tubing 0.15 mL, catheter 60 cm); at the tip first: 0.30" in out
    assert "mL of spinal fluid, then " in out and "mL of 500 mcg/mL" in out


def test_a_catheter_outside_its_lengths_is_refused_and_nothing_is_sent(capsys, pump):
    code, _, err = run(capsys, "prime", pump, "--catheter-cm", 150, "--reason", "implant", *DOCTOR, "--yes")
    assert code == EXIT_INVALID and "--catheter-cm" in err and "'150' is outside 10 to 110" in err
    code, _, err = run(capsys, "prime", pump, "--catheter-cm", 60, "--segments-cm", "40,15", "--reason",
                       "catheter_revision", *DOCTOR, "--yes")
    assert code == EXIT_INVALID and "--segments-cm" in err and "55 cm" in err
    assert pump_log(capsys, pump, "bolus_started") == []


def test_a_bolus_is_said_as_its_total_and_per_hour_and_given_once(capsys, primed):
    # 50 mcg over 30 min: 100 mcg/h; 0.1 mL at 0.2 mL/h. The next 24 h: the program's 150 and this 50, and what the
    # domain counts of the prime an hour ago (programmer/bolus.py: its logged delivery, 153 mcg).
    code, out, err = run(capsys, "bolus", primed, "--dose", 50, "--duration-min", 30, *DOCTOR, "--yes")
    assert code == EXIT_OK, err
    assert "Bolus         50 mcg in total over 30 min = 100 mcg/h; 0.1 mL at 0.2 mL/h" in out
    assert "Next 24 h     353 mcg: the program 150, this bolus 50, boluses of the last 24 h 153" in out
    [started] = [d for d in pump_log(capsys, primed, "bolus_started") if d["kind"] == "therapeutic"]
    assert (started["dose"], started["volume_ml"], started["duration_min"]) == (50.0, pytest.approx(0.1), 30.0)
    assert f"cancel-bolus {primed} --bolus-id {started['bolus_id']} --yes" in out


@pytest.mark.parametrize("dose, duration, codes", [
    # 25 mcg meant per hour for 4 h, typed as the total: 6.25 mcg/h; the warning says the total would be 100 mcg
    (25, 240, {"BOLUS_LONG_DURATION"}),
    # 500 mcg for 50 (a decimal point): above the 200 mcg bolus hard maximum and above the 150 mcg/day program
    (500, 30, {"BOLUS_ABOVE_HARD_MAX", "BOLUS_LOOKS_LIKE_DAILY_DOSE"}),
])
def test_a_per_hour_slip_and_a_tenfold_bolus_are_refused_and_nothing_is_sent(capsys, pump, dose, duration, codes):
    code, out, err = run(capsys, "bolus", pump, "--dose", dose, "--duration-min", duration, *DOCTOR, "--yes", "--json")
    assert code == EXIT_REFUSED
    result = json.loads(out)
    assert {finding["code"] for finding in result["errors"] + result["warnings"]} == codes
    assert result["pump_reported"] is None and result["outcome"] in ("refused", "needs_override")
    if dose == 25:
        assert "25 mcg in total over 4 h is 6.25 mcg per hour; if 25 mcg was meant per hour, the total would be " \
               "100 mcg" in err
    assert pump_log(capsys, pump, "bolus_started") == []


def test_a_bolus_that_would_empty_the_reservoir_is_refused(capsys, tmp_path, start_emulator):
    # 0.15 mL left; 70 mcg is 0.14 mL, and over 60 min the program moves 0.3 mL/day x 60 / 1440 = 0.0125 mL:
    # 0.1525 mL in all, more than the reservoir holds (a total well clear of a rounding edge at four decimals)
    url = filled(capsys, tmp_path, start_emulator, 0.15)
    code, _, err = run(capsys, "bolus", url, "--dose", 70, "--duration-min", 60, *DOCTOR, "--yes",
                       "--override-soft-limits", "the patient needs it now")
    assert code == EXIT_REFUSED and "BOLUS_EMPTIES_RESERVOIR" in err and "need 0.1525 mL" in err, err
    assert pump_log(capsys, url, "bolus_started") == []


@pytest.fixture
def fast_link(monkeypatch) -> None:
    """The commands' links at a high line rate besides the loopback timings: each answer lost on purpose then costs
    a tenth of a second of waiting, not the 0.7 s a 9600 baud line is given (tests/drivers/test_faults.py)."""
    monkeypatch.setattr(cli_pump, "open_driver", partial(open_driver, baudrate=1_000_000, **LOOPBACK_LINK))


def losing_answers(*commands: Command):
    """A frame filter that loses every OK answer to ``commands``: the pump acts, the programmer never hears it."""
    def lose(direction, frame, wire):
        lost = frame is not None and frame.is_response and frame.command in commands and frame.status == Status.OK
        return b"" if lost else wire
    return lose


def test_a_bolus_whose_answer_is_lost_is_found_by_its_id_and_given_once(capsys, pump, fast_link):
    proxy = FrameProxy(pump, losing_answers(Command.BOLUS))
    try:
        code, out, err = run(capsys, "bolus", proxy.url, "--dose", 50, "--duration-min", 30, *DOCTOR, "--yes",
                             "--json")
    finally:
        proxy.close()
    assert code == EXIT_OK, err
    result = json.loads(out)
    assert result["outcome"] == "verified" and "the link failed while asking for it" in result["message"]
    assert result["pump_reported"]["bolus_id"] == result["bolus_id"]
    assert [detail["bolus_id"] for detail in pump_log(capsys, pump, "bolus_started")] == [result["bolus_id"]]


def test_an_uncertain_bolus_says_its_id_and_how_to_ask_never_to_try_again(capsys, pump, fast_link):
    proxy = FrameProxy(pump, losing_answers(Command.BOLUS, Command.BOLUS_STATUS))
    try:
        code, out, err = run(capsys, "bolus", proxy.url, "--dose", 50, "--duration-min", 30, *DOCTOR, "--yes")
    finally:
        proxy.close()
    assert code == EXIT_VERIFY_FAILED
    [started] = pump_log(capsys, pump, "bolus_started")  # the pump did act, once
    bolus_id = started["bolus_id"]
    assert f"bolus-status {proxy.url} --bolus-id {bolus_id}" in err and "do NOT give it again" in err
    assert "try again" not in (out + err).lower()
    code, out, _ = run(capsys, "bolus-status", pump, "--bolus-id", bolus_id, "--json")
    status = json.loads(out)
    assert code == EXIT_OK and status["known"] is True
    assert (status["bolus"]["kind"], status["bolus"]["dose"], status["bolus"]["state"]) == ("therapeutic", 50.0,
                                                                                          "delivering")
    code, out, _ = run(capsys, "bolus-status", pump, "--bolus-id", "b-never-given", "--json")
    assert code == EXIT_OK and (json.loads(out)["known"], json.loads(out)["bolus"]) == (False, None)


def test_a_bolus_is_cancelled_and_a_second_cancel_says_how_it_ended(capsys, pump):
    assert run(capsys, "cancel-bolus", pump, *DOCTOR, "--yes")[:2] == (EXIT_REFUSED, "")  # nothing runs
    assert run(capsys, "bolus", pump, "--dose", 50, "--duration-min", 30, *DOCTOR, "--yes")[0] == EXIT_OK
    code, out, _ = run(capsys, "cancel-bolus", pump, *DOCTOR, "--yes", "--json")
    cancelled = json.loads(out)
    assert code == EXIT_OK and (cancelled["state"], cancelled["kind"], cancelled["dose"]) == (
        "cancelled", "therapeutic", 50.0)
    assert 0 <= cancelled["delivered"] < 1  # 100 mcg/h for the second or so it ran
    code, out, _ = run(capsys, "cancel-bolus", pump, "--bolus-id", cancelled["bolus_id"], *DOCTOR, "--yes")
    assert code == EXIT_OK and "had already ended (cancelled)" in out
    assert len(pump_log(capsys, pump, "bolus_cancelled")) == 1


def test_wait_follows_the_bolus_until_it_is_done(capsys, tmp_path, start_emulator, monkeypatch):
    # 120 pump seconds a second: a 1 min bolus of 10 mcg is done in 0.5 s. The pump clock runs 2 min ahead each second
    # it takes to fill and program it (a busy machine's few seconds are beyond the 5 min of drift a review accepts
    # without a reason), so the bolus gives the reason for CLOCK_DRIFT, should it be found.
    url = filled(capsys, tmp_path, start_emulator, 20, "--speed", "120")
    monkeypatch.setattr(bolus_commands, "POLL_INTERVAL_S", 0.05)
    code, out, err = run(capsys, "bolus", url, "--dose", 10, "--duration-min", 1, *DOCTOR, "--yes", "--wait",
                         "--override-soft-limits", "the emulated clock runs fast on purpose")
    assert code == EXIT_OK, err
    [started] = pump_log(capsys, url, "bolus_started")
    assert f"bolus {started['bolus_id']} done: 10 of 10 mcg delivered" in out


def demand_checksum(settings: dict) -> str:
    """docs/protocol.md, READ_DEMAND: 16 hex digits of SHA-256 over the sorted, compact JSON of the settings."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def test_a_demand_dose_is_written_verified_and_switched_off(capsys, pump):
    # 25 mcg a press (0.05 mL) over 10 min, 4 h apart, at most 4 a day: up to 150 + 4 x 25 = 250 mcg/day
    code, out, err = run(capsys, "demand-dose", pump, "--dose", 25, "--duration-min", 10, "--lockout-min", 240,
                         "--max-per-day", 4, *DOCTOR, "--yes", "--json")
    assert code == EXIT_OK, err
    result = json.loads(out)
    assert (result["outcome"], result["bolus_id"], result["status_command"]) == ("verified", None, None)
    assert result["demand"]["max_daily_dose"] == pytest.approx(250) and result["demand"]["volume_ml"] == 0.05
    settings = {"enabled": True, "dose": 25.0, "dose_unit": "mcg", "duration_min": 10.0, "lockout_min": 240.0,
                "max_per_day": 4}
    assert result["pump_reported"] == settings | {"checksum": demand_checksum(settings)}
    code, _, err = run(capsys, "demand-dose", pump, "--dose", 25, "--duration-min", 10, "--lockout-min", 20,
                       "--max-per-day", 4, *DOCTOR, "--yes")
    assert code == EXIT_REFUSED and "DEMAND_LOCKOUT_SHORT" in err  # minutes typed for hours?
    code, _, err = run(capsys, "demand-dose", pump, "--dose", 25, "--duration-min", 10, "--lockout-min", 240,
                       "--max-per-day", 30, *DOCTOR, "--yes")
    assert code == EXIT_INVALID and "--max-per-day: '30' is outside 1 to 24" in err
    code, out, _ = run(capsys, "demand-dose", pump, "--off", *DOCTOR, "--yes", "--json")
    assert code == EXIT_OK and json.loads(out)["pump_reported"] == {
        "enabled": False, "dose": 0.0, "dose_unit": None, "duration_min": 0.0, "lockout_min": 0.0, "max_per_day": 0,
        "checksum": demand_checksum({"enabled": False})}
    assert [detail["enabled"] for detail in pump_log(capsys, pump, "demand_set")] == [True, False]


@pytest.mark.parametrize("argv, words", [
    (("--off", "--dose", 25), "--off switches the demand dose off: it takes no --dose"),
    (("--dose", 25, "--lockout-min", 240), "missing: --duration-min, --max-per-day"),
    (("--dose", 25, "--duration-min", 10, "--lockout-min", 240, "--max-per-day", "1_0"), "is not a whole number"),
])
def test_a_demand_dose_that_is_not_one_is_invalid_input_before_the_pump_is_contacted(capsys, closed_port, argv,
                                                                                     words):
    code, _, err = run(capsys, "demand-dose", closed_port, *argv, *DOCTOR, "--yes")
    assert code == EXIT_INVALID and words in err


def test_a_bridge_after_a_refill_made_without_one_pushes_the_old_drug_out(capsys, tmp_path, start_emulator):
    # A pump's REFILL without a bridge is accepted by the pump (only this programmer insists on one): sent here
    # straight over the wire. The catheter (60 cm, primed long ago) and tubing then hold 0.306 mL of 500 mcg/mL: the
    # bridge pumps them at 0.3 mL/day, 153 mcg over 1468.8 min, at the programmed 150 mcg/day.
    url = filled(capsys, tmp_path, start_emulator, 20, "--catheter-cm", "60")
    code, _, err = run(capsys, "bridge", url, *DOCTOR, "--yes")
    assert code == EXIT_REFUSED and "NOTHING_TO_BRIDGE" in err
    client = WireClient(url)
    try:
        client.hello()
        stronger = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 1000}
        assert client.call(Command.REFILL, {"refill_id": "r-unbridged", "withdrawn_ml": 20.0, "added_ml": 20.0,
                                            "drug": stronger}).status == Status.OK
    finally:
        client.close()
    code, out, err = run(capsys, "bridge", url, *DOCTOR, "--yes", "--json")
    assert code == EXIT_OK, err
    result = json.loads(out)
    # the line moves meanwhile: 0.3 mL/day is 3.5e-6 mL a second, so the old drug left is a few 1e-6 mL short
    bridge = result["bridge"]
    assert (bridge["volume_ml"], bridge["concentration_per_ml"]) == (pytest.approx(LINE_ML, abs=1e-4), 500.0)
    assert bridge["dose"] == pytest.approx(153.0, abs=0.05)
    assert bridge["duration_min"] == pytest.approx(1468.8, abs=0.5)
    assert (result["pump_reported"]["kind"], result["pump_reported"]["state"]) == ("bridge", "delivering")
    assert [detail["kind"] for detail in pump_log(capsys, url, "bolus_started")] == ["bridge"]

"""Ctrl-C (SIGINT) and SIGTERM during a pump command: one line on standard error, never a traceback, exit code 130 or
143 (docs/cli.md). Once the bolus's attempt record is on disk the line names the bolus id, says it may have started
and gives the exact ``bolus-status`` command with the real PORT; with ``--json`` a JSON object says ``uncertain`` (or
``unchanged`` when nothing was sent yet).

The command runs as a real process and gets a real signal. Between it and the emulator a FrameProxy drops the
request the test holds it at (the pump never hears it, so the command waits, retrying); the test signals once a
condition holds (the audit log's attempt record, or the held request seen by the proxy), never after a sleep.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest

from programmer.audit import read_audit_log
from protocol import Command
from programmer.cli.support import EXIT_OK
from tests.support.cli_runs import DOCTOR, SYRINGE, program_file, run
from tests.support.emulator_fixtures import FrameProxy

WAIT_S = 20.0
"""The most a condition is waited for: a bound on a broken test, never a pause."""

ENTRY = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
         "from programmer.cli.main import main; sys.exit(main())")
"""The command, with Ctrl-C's handler as at a terminal whatever this test process's parent ignores."""


def filled(capsys, tmp_path, start_emulator) -> str:
    """A new pump filled with 20 mL of baclofen 500 mcg/mL running 150 mcg/day."""
    url = start_emulator("--service").url
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")[0] == EXIT_OK
    code, _, err = run(capsys, "write", url, program_file(tmp_path, 150), *DOCTOR, "--previous-daily-dose", 150,
                       "--yes")
    assert code == EXIT_OK, err
    return url


def holding(*commands: Command) -> tuple[threading.Event, object]:
    """A frame filter that drops every request of ``commands`` on its way to the pump, and an event set once one was
    dropped (the command is then waiting for its answer)."""
    seen = threading.Event()

    def hold(direction, frame, wire):
        if direction == "to_pump" and frame is not None and not frame.is_response and frame.command in commands:
            seen.set()
            return b""
        return wire
    return seen, hold


def start(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", ENTRY, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_until(process: subprocess.Popen, condition) -> None:
    """Wait on the process (which must not end first) until ``condition()`` holds."""
    for _ in range(int(WAIT_S / 0.02)):
        if condition():
            return
        try:
            process.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the command ended before the condition: {process.communicate()}")
    process.kill()
    pytest.fail("the condition never held")


def attempts(audit_log, action: str | None = None) -> list[dict]:
    if not audit_log.exists():
        return []
    return [record for record in read_audit_log(audit_log)
            if record.get("event") == "attempt" and action in (None, record["action"])]


@pytest.mark.parametrize(("signum", "code", "json_output"), [(signal.SIGINT, 130, False),
                                                              (signal.SIGTERM, 143, True)])
def test_a_bolus_interrupted_after_its_attempt_names_its_id_and_how_to_ask(capsys, tmp_path, start_emulator,
                                                                            audit_log, signum, code, json_output):
    pump = filled(capsys, tmp_path, start_emulator)
    seen, hold = holding(Command.BOLUS, Command.BOLUS_STATUS)
    proxy = FrameProxy(pump, hold)
    try:
        process = start("bolus", proxy.url, "--dose", "50", "--duration-min", "30", *DOCTOR, "--yes",
                        *(("--json",) if json_output else ()))
        wait_until(process, lambda: bool(attempts(audit_log, "bolus")))
        process.send_signal(signum)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        proxy.close()
    [attempt] = attempts(audit_log, "bolus")
    bolus_id = attempt["bolus"]["bolus_id"]
    assert process.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"bolus {bolus_id}" in err and "may have started" in err and "do NOT give it again" in err
    assert f"pump-programmer bolus-status {proxy.url} --bolus-id {bolus_id}" in err
    if json_output:
        result = json.loads(out)
        assert (result["outcome"], result["bolus_id"], result["interrupted_by"]) == ("uncertain", bolus_id, "SIGTERM")
        assert result["status_command"] == f"pump-programmer bolus-status {proxy.url} --bolus-id {bolus_id}"
    else:
        assert out == ""


@pytest.mark.parametrize("command", [
    ("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--drug", "baclofen", "--dose-unit", "mcg",
     "--concentration", "500", "--lot", "L1", "--expiry", "2099-12-31", "--bridge")])
def test_an_interruption_before_anything_is_sent_says_the_pump_is_unchanged(tmp_path, start_emulator, audit_log,
                                                                            command):
    pump = start_emulator("--service").url
    seen, hold = holding(Command.READ_STATUS)  # the interrogation waits for its first reading
    proxy = FrameProxy(pump, hold)
    name, *options = command
    options = [str(program_file(tmp_path)) if option == "PROGRAM" else option for option in options]
    try:
        process = start(name, proxy.url, *options, *DOCTOR, "--yes", "--json")
        wait_until(process, seen.is_set)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        proxy.close()
    assert process.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "before anything that changes the pump was sent: the pump is unchanged" in err
    result = json.loads(out)
    assert (result["outcome"], result["bolus_id"], result["interrupted_by"]) == ("unchanged", None, "SIGINT")
    assert attempts(audit_log) == []

"""``pump-emulator`` as a process: the first line, TCP and pty, reconnects, bad bytes, faults, the
throttle, option errors, and crash consistency under SIGKILL. Loopback only; every wait is bounded."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from emulator.launch import EmulatorProcess
from emulator.state import load_state
from protocol.codes import Command, Status
from protocol.frame import Frame, FrameDecoder, encode_frame
from protocol.secure import FrameRejected, programmer_channel
from tests.support.emulator_support import BACLOFEN_500, WireClient, checksum_of, hello_payload, paired_args, simple

TCP = ("--listen", "tcp://127.0.0.1:0")


@pytest.fixture
def state_path(tmp_path):
    return tmp_path / "pump.json"


def test_tcp_first_line_hello_and_clean_stop(start_emulator, state_path):
    # The console script itself: its first line is "listening on URL", and SIGTERM stops it with 0.
    emulator = start_emulator("--model", "ITB-40", state=state_path, console_script=True)
    try:
        assert emulator.url.startswith("socket://127.0.0.1:")
        assert emulator.url.rsplit(":", 1)[1].isdigit() and emulator.url.rsplit(":", 1)[1] != "0"
        client = WireClient(emulator.url)
        assert client.hello()["model"] == "ITB-40"
        assert client.call(Command.IDENTIFY).payload["capacity_ml"] == 40.0
        client.close()
    finally:
        assert emulator.stop() == 0
    assert load_state(state_path).events[0].kind == "power_on"


def test_pty_first_line_and_hello(start_emulator, state_path):
    # The console script itself: its first line is "listening on URL", and SIGINT stops it with 0.
    emulator = start_emulator(link="pty", state=state_path, console_script=True)
    try:
        assert emulator.url.startswith("/dev/pts/") and emulator.url.rsplit("/", 1)[1].isdigit()
        client = WireClient(emulator.url)
        assert client.hello()["model"] == "ITB-20"
        assert client.call(Command.READ_STATUS).status == Status.OK
        client.close()
    finally:
        assert emulator.stop(signal.SIGINT) == 0


def test_a_new_connection_after_a_disconnect_and_garbage_on_the_wire(start_emulator, state_path):
    emulator = start_emulator(state=state_path)
    try:
        first = WireClient(emulator.url)
        first.hello()
        first.close()
        second = WireClient(emulator.url)
        assert second.call(Command.READ_STATUS).status == Status.NOT_AUTHENTICATED  # a new connection needs HELLO
        second.port.write(b"\x00garbage\xff\xfe\x00\x01\x02" + bytes(range(1, 256)) * 40 + b"\x00")
        assert second.hello()["protocol"] == 2  # resynchronised at the next delimiter
        # A connection beside a silent one is served (the silent one's session was only pending).
        third = WireClient(emulator.url)
        third.hello()
        assert third.call(Command.READ_PROGRAM).status == Status.OK
        second.close()
        third.close()
        assert emulator.process.poll() is None
    finally:
        assert emulator.stop() == 0


@pytest.mark.parametrize("listen", ["tcp://0.0.0.0:0", "tcp://192.0.2.1:7001", "udp://127.0.0.1:0", "tcp://127.0.0.1:x"])
def test_non_loopback_or_malformed_listen_is_refused(state_path, listen):
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "--listen", listen, "--state", str(state_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "--listen" in result.stderr
    assert not state_path.exists()


@pytest.mark.parametrize("option", [["--faults", "drop=2"], ["--faults", "nonsense=1"], ["--speed", "0"],
                                    ["--speed", "1e12"], ["--baud", "x"]])
def test_bad_options_exit_2_with_one_line(state_path, option):
    result = subprocess.run([sys.executable, "-m", "emulator.cli", *TCP, "--state", str(state_path), *option],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_a_damaged_state_file_exits_2(state_path):
    state_path.write_text("{}")
    result = subprocess.run([sys.executable, "-m", "emulator.cli", *TCP, "--state", str(state_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "not a valid emulator state file" in result.stderr
    assert state_path.read_text() == "{}"  # never overwritten


def test_the_emulator_does_not_import_the_planner_or_the_checks():
    code = ("import sys, emulator.cli; "
            "print(sorted(m for m in sys.modules if m in ('programmer.planner', 'programmer.checks')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout.strip() == "[]"


def test_disconnect_fault_cuts_an_answer_and_the_next_connection_works(start_emulator, state_path):
    # Version 1 (--insecure): every answer is cut, so there is no pairing to check at start, nor a session.
    emulator = start_emulator("--insecure", "--faults", "seed=1,disconnect=1", state=state_path)
    try:
        host, port = emulator.url[len("socket://"):].rsplit(":", 1)
        for _ in range(2):
            with socket.create_connection((host, int(port)), timeout=5) as connection:
                connection.sendall(encode_frame(Frame(1, Command.HELLO, 0, {"protocol": 1, "client": "t"}, False)))
                received = b""
                while chunk := connection.recv(4096):  # until the emulator closes (bounded by the timeout)
                    received += chunk
            assert received and not received.endswith(b"\x00")  # cut mid-frame
            assert FrameDecoder().feed(received + b"\x00") == []
    finally:
        assert emulator.stop() == 0


def test_baud_throttles_answers(start_emulator, state_path):
    emulator = start_emulator("--baud", "4800", state=state_path)
    try:
        client = WireClient(emulator.url)
        client.hello()
        started = time.monotonic()
        response = client.call(Command.IDENTIFY)
        elapsed = time.monotonic() - started
        wire_bytes = len(encode_frame(response))
        assert elapsed >= 0.9 * wire_bytes * 10 / 4800  # 480 bytes per second at most
        client.close()
    finally:
        assert emulator.stop() == 0


def opened_answer(client: WireClient, seq: int) -> Frame | None:
    """The next answer with ``seq`` that this client can take: in a session only a sealed one that opens (a clear
    NOT_AUTHENTICATED aside, which says the session is gone); None after 0.15 s without one."""
    response = client.receive(seq, timeout=0.15)  # the emulator answers in milliseconds
    if response is None or client.channel is None or not response.sealed:
        keep = client.channel is None or response is None or response.status == Status.NOT_AUTHENTICATED
        return response if keep else None
    try:
        return client.opened(response)
    except FrameRejected:
        return None


def call_with_retries(client: WireClient, command: int, payload: dict, attempts: int = 40) -> Frame:
    """Like a driver: resend the same bytes on silence, a new request after BUSY, a new session after
    NOT_AUTHENTICATED. Counts the retries in ``client.retries``."""
    request = client.send(command, payload)
    for _ in range(attempts):
        response = opened_answer(client, request.seq)
        if response is not None and response.command == command and response.status not in (
                Status.BUSY, Status.NOT_AUTHENTICATED):
            return response
        client.retries += 1
        if response is None:
            client.port.write(b"\x00")
            client.port.write(encode_frame(request))
            continue
        if response.status == Status.NOT_AUTHENTICATED:
            hello_with_retries(client)
        request = client.send(command, payload)
    raise AssertionError(f"no answer to {Command(command).name} after {attempts} attempts")


def hello_with_retries(client: WireClient) -> None:
    """A session opened through the faults (a resent HELLO is answered for the same session)."""
    client.channel = None
    request = hello_payload()
    answer = call_with_retries(client, Command.HELLO, request)
    assert answer.status == Status.OK, answer.payload
    client.channel = programmer_channel(client.key, client.programmer_id, request, answer.payload)


@pytest.mark.slow  # retries its way through dropped, corrupted, duplicated, delayed and refused frames
def test_faults_never_make_the_pump_act_twice_or_wrongly(start_emulator, state_path):
    faults = "seed=11,drop=0.1,corrupt=0.1,duplicate=0.2,busy=0.1,delay=0.2:0.05"
    emulator = start_emulator("--faults", faults, "--speed", "3600", state=state_path)
    try:
        client = WireClient(emulator.url)
        hello_with_retries(client)
        refill = {"refill_id": "r1", "withdrawn_ml": 0, "added_ml": 20, "drug": BACLOFEN_500}
        assert call_with_retries(client, Command.REFILL, refill).status == Status.OK
        for number in range(6):
            bolus = {"bolus_id": f"b{number}", "dose": 5, "duration_min": 1}
            response = call_with_retries(client, Command.BOLUS, bolus)
            if response.status == Status.REFUSED:  # the previous one still running: wait for it, same id again
                while call_with_retries(client, Command.READ_STATUS, {}).payload["bolus"] is not None:
                    pass
                response = call_with_retries(client, Command.BOLUS, bolus)
            assert response.status == Status.OK, response.payload
        program = simple(150)
        staged = call_with_retries(client, Command.STAGE_PROGRAM, {"program": program}).payload["checksum"]
        assert staged == checksum_of(program)
        assert call_with_retries(client, Command.COMMIT_PROGRAM, {"checksum": staged}).status == Status.OK
        assert client.retries > 0  # the faults did happen
        client.close()
    finally:
        assert emulator.stop() == 0
    state = load_state(state_path)
    started = [event.detail["bolus_id"] for event in state.events if event.kind == "bolus_started"]
    assert sorted(started) == [f"b{number}" for number in range(6)]
    assert [event.kind for event in state.events].count("refill") == 1
    assert state.program_checksum == checksum_of(program)


def _stream_programs(url: str, programs: list[dict], sent: list[str], acknowledged: list[str],
                     stop_flag: threading.Event, progress: threading.Condition) -> None:
    """Stage and commit the programs in turn until ``stop_flag`` is set or the link dies (which sets it);
    record each commit sent and acknowledged, notifying ``progress`` of each acknowledgement and of the end."""
    try:
        client = WireClient(url)
        client.hello()
        while not stop_flag.is_set():
            for program in programs:
                staged = client.call(Command.STAGE_PROGRAM, {"program": program}, timeout=2).payload["checksum"]
                sent.append(staged)
                if client.call(Command.COMMIT_PROGRAM, {"checksum": staged}, timeout=2).status == Status.OK:
                    with progress:
                        acknowledged.append(staged)
                        progress.notify_all()
    except Exception:  # noqa: BLE001 - the emulator was killed under us: that is the point
        return
    finally:
        with progress:
            stop_flag.set()
            progress.notify_all()


@pytest.mark.parametrize("commits_before_kill", [1, 4, 9])
def test_sigkill_during_stage_and_commit_leaves_one_whole_program(start_emulator, state_path, commits_before_kill):
    programs = [simple(150), simple(160)]
    checksums = {checksum_of(program) for program in programs}
    emulator = start_emulator("--speed", "100", state=state_path)
    client = WireClient(emulator.url)
    client.hello()
    client.call(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 0, "added_ml": 20, "drug": BACLOFEN_500})
    client.close()

    sent: list[str] = []
    acknowledged: list[str] = []
    done = threading.Event()
    progress = threading.Condition()
    writer = threading.Thread(target=_stream_programs,
                              args=(emulator.url, programs, sent, acknowledged, done, progress))
    with progress:
        writer.start()
        progress.wait_for(lambda: len(acknowledged) >= commits_before_kill or done.is_set(), timeout=20)
    assert len(acknowledged) >= commits_before_kill
    emulator.kill()  # while the writer keeps staging and committing
    done.set()
    writer.join(10)
    assert not writer.is_alive()

    state = load_state(state_path)  # whole and valid, never a mix
    # An acknowledged commit is durable: the pump runs the last acknowledged program, or the one whose
    # commit was in flight when it was killed.
    assert state.program_checksum in {acknowledged[-1], sent[-1]}

    emulator = start_emulator(state=state_path)
    try:
        client = WireClient(emulator.url)
        client.hello()
        program = client.call(Command.READ_PROGRAM).payload
        assert program["checksum"] == state.program_checksum
        # A staged program did not survive: committing the other program's checksum is NOT_STAGED.
        other = (checksums - {program["checksum"]}).pop()
        assert client.call(Command.COMMIT_PROGRAM, {"checksum": other}).status == Status.NOT_STAGED
        events = client.call(Command.READ_EVENTS, {"start": 0, "count": 0}).payload
        last = client.call(Command.READ_EVENTS, {"start": events["total"] - 2, "count": 2}).payload["events"]
        assert [event["kind"] for event in last] == ["power_on", "session_started"]
        client.close()
    finally:
        assert emulator.stop() == 0
    json.loads(state_path.read_text())


def _emulator_with_stdin_pipe(state_path, *options: str) -> EmulatorProcess:
    """An emulator whose standard input is a pipe only this test holds (``emulator.launch``'s lifeline)."""
    emulator = EmulatorProcess([*TCP, "--state", str(state_path), *paired_args(state_path.parent), *options],
                               lifeline=True)
    emulator.start()
    return emulator


def test_exit_on_stdin_close_saves_and_exits_when_its_starter_lets_go(state_path):
    emulator = _emulator_with_stdin_pipe(state_path, "--exit-on-stdin-close")
    try:
        client = WireClient(emulator.url)
        assert client.hello()["model"] == "ITB-20"
        client.close()
        emulator.process.stdin.close()  # what the kernel does for a starter that dies, however it dies
        assert emulator.process.wait(timeout=10) == 0
    finally:
        emulator.kill()
    assert load_state(state_path).events[0].kind == "power_on"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(emulator.url.rsplit(":", 1)[1])), timeout=1).close()


def test_without_the_option_closing_stdin_changes_nothing(state_path):
    emulator = _emulator_with_stdin_pipe(state_path)
    try:
        emulator.process.stdin.close()
        client = WireClient(emulator.url)  # a round trip after the close: still serving
        assert client.hello()["model"] == "ITB-20"
        assert client.call(Command.READ_STATUS).status == Status.OK
        client.close()
        assert emulator.process.poll() is None
    finally:
        assert emulator.stop() == 0

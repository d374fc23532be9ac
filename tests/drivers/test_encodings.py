"""The serial driver and the compact encoding, end to end against the real emulator: what HELLO agrees, that
both encodings read the same log, the fallback to a plain HELLO on a pump built before encodings, each event
read once per session (READ_EVENTS requests counted in the wire trace), and compact frames damaged on the line.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from tests.support.emulator_fixtures import LOOPBACK_LINK, FrameProxy

from emulator.clock import wire_time
from emulator.events import log_event
from protocol import Command, FrameDecoder
from programmer.interrogation import read_pump
from programmer.port import PumpDriver, open_driver
from tests.support.emulator_support import make_pump

SESSION_KINDS = ("session_started", "session_ended")
FAST = {"baudrate": 1_000_000, "trace_plaintext": True, **LOOPBACK_LINK}
START = datetime(2025, 3, 1, 8, 0)


def requests(lines: list[str], command: Command) -> list[dict]:
    """The payloads of the requests of ``command`` the trace shows going out: those in clear from their wire bytes,
    the sealed ones from their ``PLAIN (patient data) TX`` lines (the driver traces them with ``trace_plaintext``).
    A resend (the same request again, after a timeout on a loaded machine) is not another request."""
    payloads = []
    for line in lines:
        plain = re.search(rf" PLAIN \(patient data\) TX seq=\d+ {command.name}: (.*)$", line)
        if plain:
            payloads.append(json.loads(plain.group(1)))
        elif re.search(r" TX seq=\d+ \w+: ", line) and " PLAIN " not in line:  # in clear, not a resend
            payloads += [frame.payload for frame in FrameDecoder().feed(bytes.fromhex(line.split(": ", 1)[1]))
                         if frame.command == command]
    return payloads


def log_clock_sets(driver: PumpDriver, count: int, first_minute: int = 0) -> None:
    """``count`` more events: clock_set, a minute apart."""
    for minute in range(first_minute, first_minute + count):
        driver.set_clock(START + timedelta(minutes=minute))


@pytest.fixture
def pump_with_events(start_emulator, tmp_path):
    """An emulator whose log holds 101 events: 100 clock settings a minute apart, written into its memory
    beforehand (quicker than 100 exchanges), then its power-on; the first session's start is event 101. No
    refill: interrogation reads the whole log, looking for one."""
    pump, _ = make_pump(tmp_path / "events.json", now=START)
    for minute in range(100):
        log_event(pump.state, START + timedelta(minutes=minute), "clock_set",
                  old=wire_time(START + timedelta(minutes=minute - 1)), new=wire_time(START + timedelta(minutes=minute)))
    pump.save()
    return start_emulator(state=tmp_path / "events.json")


def test_compact_and_json_sessions_read_the_same_log_in_pages_of_64_and_16(pump_with_events):
    logs = {}
    for compact in (True, False):
        lines: list[str] = []
        with open_driver(pump_with_events.url, trace=lines.append, compact=compact, **FAST) as driver:
            assert (driver.encoding, driver.events_per_read) == (("compact-1", 64) if compact else ("json", 16))
            logs[compact] = driver.read_events()
        hello = requests(lines, Command.HELLO)
        assert [("encodings" in payload) for payload in hello] == [compact]
        pages = [payload["count"] for payload in requests(lines, Command.READ_EVENTS)]
        # 102 events (101 and the compact session's start), then 104 (its end, the JSON session's start): pages
        # of 64 or 16, the last one asking only for what the total says exists
        assert pages == ([0, 64, 38] if compact else [0] + [16] * 6 + [8])
    assert logs[False][:102] == logs[True]
    assert [event.index for event in logs[False]] == list(range(104))
    assert [event.kind for event in logs[False][101:]] == ["session_started", "session_ended", "session_started"]
    assert logs[True][99].detail == {"old": "2025-03-01T09:38:00", "new": "2025-03-01T09:39:00"}
    assert logs[True][100].kind == "power_on"


def test_a_pump_built_before_encodings_gets_a_plain_hello_and_json_pages(start_emulator):
    emulator = start_emulator("--no-compact")
    lines: list[str] = []
    with open_driver(emulator.url, trace=lines.append, **FAST) as driver:
        assert (driver.encoding, driver.events_per_read) == ("json", 16)
        log_clock_sets(driver, 20)
        events = driver.read_events()
    assert [event.index for event in events] == list(range(22))  # power-on, the session's start, 20 clock settings
    hellos = requests(lines, Command.HELLO)
    hello = {"protocol": 2, "client": "itb-programmer serial driver", "programmer_id": "test-programmer"}
    assert [{key: value for key, value in payload.items() if key != "nonce"} for payload in hellos] == [
        {**hello, "encodings": ["compact-1"]}, hello]
    assert len({payload["nonce"] for payload in hellos}) == 2  # each HELLO its own fresh nonce
    assert any("HELLO BAD_ARGUMENT" in line for line in lines)
    assert [payload["count"] for payload in requests(lines, Command.READ_EVENTS)] == [0, 16, 6]


def test_after_the_fallback_a_reconnect_says_a_plain_hello_at_once(start_emulator):
    cut: list[int] = []

    def cut_the_first_status_request(direction, frame, wire):
        if direction == "to_pump" and frame is not None and frame.command == Command.READ_STATUS and not cut:
            cut.append(frame.seq)
            return None  # the connection drops: the driver reconnects and says HELLO again
        return wire

    proxy = FrameProxy(start_emulator("--no-compact").url, cut_the_first_status_request)
    lines: list[str] = []
    try:
        with open_driver(proxy.url, trace=lines.append, **FAST) as driver:
            assert driver.read_status().battery_status == "ok" and driver.encoding == "json"
    finally:
        proxy.close()
    assert cut and proxy.connections == 2
    assert ["encodings" in payload for payload in requests(lines, Command.HELLO)] == [True, False, False]


def test_interrogation_then_the_whole_log_reads_each_event_once(pump_with_events):
    lines: list[str] = []
    with open_driver(pump_with_events.url, trace=lines.append, **FAST) as driver:
        read_pump(driver)  # no refill in the log: it reads back to the oldest event
        assert requests(lines, Command.READ_EVENTS) == [  # 102 events: the newest 64, then the 38 before them
            {"start": 0, "count": 0}, {"start": 38, "count": 64}, {"start": 0, "count": 38}]
        lines.clear()
        first = driver.read_events()
        assert requests(lines, Command.READ_EVENTS) == [{"start": 0, "count": 0}]  # the total; the rest is known
        log_clock_sets(driver, 2, first_minute=100)  # events 102 and 103
        lines.clear()
        again = driver.read_events()
        assert requests(lines, Command.READ_EVENTS) == [{"start": 0, "count": 0}, {"start": 102, "count": 2}]
    assert again[:102] == first and [event.index for event in again] == list(range(104))
    with open_driver(pump_with_events.url, compact=False, **FAST) as fresh:  # a new session reads it all
        read_again = fresh.read_events()
    assert read_again[:104] == again and {event.kind for event in read_again[104:]} <= set(SESSION_KINDS)


def test_a_page_asked_twice_in_a_session_is_fetched_once(pump_with_events):
    lines: list[str] = []
    with open_driver(pump_with_events.url, trace=lines.append, **FAST) as driver:
        assert driver.read_event_page(0, 0)[0] == 102  # 101 and this session's start
        first = driver.read_event_page(10, 20)
        assert driver.read_event_page(10, 20) == first and driver.read_event_page(15, 5) == (102, first[1][5:10])
        assert driver.read_event_page(20, 30)[1] == first[1][10:] + driver.read_event_page(30, 20)[1]
    assert requests(lines, Command.READ_EVENTS) == [
        {"start": 0, "count": 0}, {"start": 10, "count": 20}, {"start": 30, "count": 20}]


@pytest.mark.slow  # the link corrupts and drops frames until the driver has resent enough
def test_compact_pages_damaged_on_the_line_are_dropped_and_asked_again(pump_with_events, start_emulator, tmp_path):
    with open_driver(pump_with_events.url, compact=False, **FAST) as clean:
        expected = clean.read_events()
    pump_with_events.stop()
    emulator = start_emulator("--faults", "seed=7,corrupt=0.3", state=pump_with_events.state)
    lines: list[str] = []
    for _ in range(5):  # a link this bad may fail the HELLO itself: as a user would, try again
        try:
            with open_driver(emulator.url, trace=lines.append, **FAST) as driver:
                assert driver.encoding == "compact-1"
                events = driver.read_events()
                assert events[:102] == expected  # then the restart, among the sessions' ends and starts
                assert [event.kind for event in events[102:] if event.kind not in SESSION_KINDS] == ["power_on"]
                break
        except Exception as failed:  # noqa: BLE001 - LinkError when every try was damaged
            assert type(failed).__name__ == "LinkError", failed
    else:
        pytest.fail("no session read the log in 5 tries")
    assert any(" DROP " in line for line in lines)  # damaged frames were seen, and none got through

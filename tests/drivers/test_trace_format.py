"""What the driver writes to a wire trace reads back as docs/trace-format.md says (programmer.trace_reading).

One test in process (WireTrace with frames made here, so every figure is known), one over the real emulator with
its seeded faults (a corrupted frame is dropped, its request resent, and the trace says so).
"""

from __future__ import annotations

from datetime import datetime

from tests.support.emulator_fixtures import LOOPBACK_LINK

from drivers.trace import WireTrace
from protocol import Command, Frame, Status, encode_frame
from programmer.port import open_driver
from programmer.trace_reading import IN_CLEAR, SEALED, TRACE_FORMAT, read_trace


def test_a_request_answered_in_two_reads_reads_back_with_its_tries_and_time():
    lines: list[str] = []
    trace = WireTrace(lines.append)
    request = Frame(4, Command.IDENTIFY, 0, {}, False)
    answer = Frame(4, Command.IDENTIFY, Status.OK, {"model": "ITB-20"}, True)
    wire = encode_frame(answer)
    trace.sent(request, encode_frame(request), resend=False)
    trace.received(b"\x02\xff\x00" + wire[:5])   # a damaged chunk, then the answer's first bytes
    trace.dropped("crc: computed 0x0001, frame carries 0x0002", b"\x02\xff")
    trace.received(wire[5:])
    trace.decoded(answer, "answer")
    trace.done(answer, 2, 0.0125)
    offset = datetime.now().astimezone().strftime("%z")

    reading = read_trace(lines)
    assert reading.problems == [] and reading.formats == [TRACE_FORMAT]
    assert lines[0].endswith(f" TRACE itb-trace/2 utc_offset={offset[:3]}:{offset[3:]}")
    [exchange] = reading.exchanges
    assert (exchange.seq, exchange.command, exchange.status, exchange.tries) == (4, "IDENTIFY", "OK", 2)
    assert exchange.duration_ms == 12.5
    assert exchange.answer_hex == wire.hex(" ") and exchange.request_hex == encode_frame(request).hex(" ")
    assert [(drop.dropped, drop.dropped_bytes) for drop in exchange.drops] == [("crc", 2)]
    assert exchange.payload_text("RX") == IN_CLEAR


def test_a_session_over_a_corrupting_link_reads_back_with_its_drops_and_resends(start_emulator):
    emulator = start_emulator("--faults", "seed=3,corrupt=0.2")
    lines: list[str] = []
    with open_driver(emulator.url, trace=lines.append, trace_plaintext=True, baudrate=1_000_000,
                     **LOOPBACK_LINK) as driver:
        for _ in range(3):
            driver.read_status()
    reading = read_trace(lines)
    assert reading.problems == []
    answered = [exchange for exchange in reading.exchanges if exchange.status == "OK"]
    statuses = [exchange for exchange in answered if exchange.command == "READ_STATUS"]
    assert len(statuses) == 3 and all(exchange.sealed for exchange in statuses)
    assert all(exchange.payload_text("RX").startswith("{") for exchange in statuses)  # opened: PLAIN lines
    # A changed byte is caught by the CRC or, in a COBS code byte, by the decoding: either way it is dropped.
    drops = [drop for exchange in reading.exchanges for drop in exchange.drops]
    assert all(drop.text.startswith(drop.dropped + ": ") and drop.dropped_bytes == len(bytes.fromhex(drop.hex))
               for drop in drops) and drops
    assert any(exchange.tries > 1 for exchange in reading.exchanges)
    assert all(exchange.duration_ms is not None and exchange.duration_ms > 0 for exchange in answered)
    hidden = read_trace(line for line in lines if " PLAIN " not in line)
    assert {exchange.payload_text("RX") for exchange in hidden.exchanges if exchange.sealed} == {SEALED}

"""Reading a wire trace back (programmer.trace_reading): exchanges, timing, resends, drops, and strictness.

The lines (tests/support/wire_trace_lines.py) are written by hand as docs/trace-format.md shows them, so the figures
expected are computed from the lines themselves; tests/drivers/test_trace_format.py checks that what the driver
writes reads back the same.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from programmer.trace_reading import IN_CLEAR, SEALED, LineProblem, read_trace
from tests.support.wire_trace_lines import SESSION



def test_a_resent_request_and_its_answer_across_two_reads_read_as_one_exchange():
    trace = read_trace(SESSION)
    assert trace.problems == [] and trace.formats == ["itb-trace/2"]
    status, identify = trace.exchanges
    assert (status.seq, status.command, status.status, status.tries, status.sealed) == (7, "READ_STATUS", "OK", 2, True)
    assert status.duration_ms == 650.25  # the driver's own figure (DONE), not the timestamps' 650.1
    assert status.payload_text("TX") == "{}" and status.payload_text("RX") == '{"reservoir_ml":14.0}'
    assert status.request_hex == "01 02 03 00"
    assert status.answer_hex == "03 01 07 83 00"  # the frame's bytes from both reads, without the dropped chunk
    [drop] = status.drops
    assert (drop.dropped, drop.dropped_bytes, drop.hex, drop.line) == ("crc", 2, "02 ff", 7)
    assert drop.text == "crc: computed 0x1A2B, frame carries 0x1A2C"
    # No DONE line (a version-1 trace): the timestamps' difference, 12.5 ms.
    assert identify.duration_ms == 12.5 and identify.tries == 1 and identify.ignored == 1
    assert identify.payload_text("TX") == IN_CLEAR
    assert identify.answer_hex == "05 01 08 82 01 00"


def test_the_rows_are_what_the_table_shows_in_order():
    rows = read_trace(SESSION).rows
    assert [(row.direction, row.command, row.seq, row.status) for row in rows] == [
        ("TX", "READ_STATUS", 7, ""), ("", "", None, ""), ("TX", "READ_STATUS", 7, ""), ("RX", "", None, ""),
        ("RX", "READ_STATUS", 7, "OK"), ("TX", "IDENTIFY", 8, ""), ("RX", "IDENTIFY", 8, "OK"),
        ("RX", "IDENTIFY", 8, "OK")]
    assert [row.problem for row in rows] == [False, False, True, True, False, False, False, True]
    assert [row.exchange for row in rows] == [0, None, 0, 0, 0, 1, 1, 1]
    assert rows[4].answer and rows[6].answer and not rows[7].answer
    assert rows[7].ignored == "ignored: not the answer to seq=9" and rows[7].hex == "09 01 08 82 01 00"


def test_a_sealed_payload_without_its_plain_line_is_said_to_be_sealed():
    trace = read_trace(line for line in SESSION if " PLAIN " not in line)
    assert trace.exchanges[0].payload_text("TX") == SEALED == trace.exchanges[0].payload_text("RX")


def test_malformed_lines_are_reported_by_number_and_the_rest_is_read():
    lines = [SESSION[1], "garbage", SESSION[1].replace("seq=7", "seq=300"), "2027-13-45T01:00:00.000000 NOTE x",
             "2027-03-28T01:59:59.000000 HELLO there", "2027-03-28T01:59:59.000000 DROP nonsense: 01",
             SESSION[2].replace("seq=7", "seq=9"), SESSION[10].replace("seq=7", "seq=5")]
    trace = read_trace(lines)
    assert [problem.line for problem in trace.problems] == [2, 3, 4, 5, 6, 7, 8]
    assert str(trace.problems[3]) == "line 5: unknown kind 'HELLO'"
    assert str(trace.problems[2]) == "line 4: the time '2027-13-45T01:00:00.000000' is not a date and time"
    assert len(trace.rows) == 1 and trace.exchanges[0].request_payload is None


GARBAGE = st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=80)


@given(st.lists(st.tuples(st.booleans(), GARBAGE), max_size=30))
def test_garbage_between_good_lines_is_reported_exactly_and_changes_nothing_else(mixed):
    """A line that does not start with a time is never read: each is reported, the good lines read as alone."""
    lines, bad = [], []
    good = iter(SESSION)
    for take_good, junk in mixed:
        line = next(good, None) if take_good else None
        lines.append(junk if line is None else line)
        if line is None:
            bad.append(len(lines))
    trace, alone = read_trace(lines), read_trace(line for number, line in enumerate(lines, 1) if number not in bad)
    assert [problem.line for problem in trace.problems] == bad
    assert [row.hex for row in trace.rows] == [row.hex for row in alone.rows]


@given(st.lists(st.text(max_size=120), max_size=20), st.integers(0, len(SESSION) - 1), st.text(max_size=8),
       st.integers(0, 120))
def test_any_text_is_read_or_reported_never_a_crash(lines, which, splice, at):
    damaged = SESSION[which][:at] + splice + SESSION[which][at + len(splice):]
    trace = read_trace([*SESSION[:which], damaged, *lines])
    numbers = [problem.line for problem in trace.problems]
    assert numbers == sorted(set(numbers)) and all(1 <= number <= trace.lines for number in numbers)
    assert all(isinstance(problem, LineProblem) for problem in trace.problems)

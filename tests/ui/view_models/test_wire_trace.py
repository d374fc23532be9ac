"""The Wire trace page's wording without Qt: a row's marks and details, patient data hidden until asked, the trace
saved without its opened payloads. The trace is tests/support/wire_trace_lines.py's."""

from __future__ import annotations

from programmer.trace_reading import read_trace
from tests.support.wire_trace_lines import SESSION
from ui.view_models.wire_trace import HIDDEN_PAYLOAD, TraceFilter, details, marks, trace_to_save


def test_each_row_says_its_problem_and_the_answer_its_time_and_tries():
    reader = read_trace(SESSION)
    assert [marks(row, reader) for row in reader.rows] == [
        "", "", "RESEND", "DROPPED crc, 2 bytes", "after 2 tries", "", "", "ignored: not the answer to seq=9"]


def test_the_details_hide_the_payloads_until_patient_data_is_shown_and_the_hex_until_asked():
    reader = read_trace(SESSION)
    answer = reader.rows[4]
    hidden = details(answer, reader, patient_data=False, with_hex=False).splitlines()
    assert hidden == ["Line 9, 2027-03-28 01:59:59.750100",
                      "Exchange: seq=7 READ_STATUS -> OK, sent 2 times, answered in 650.2 ms",
                      "Meanwhile: 1 chunks dropped (2 bytes), 0 frames not taken",
                      f"Request payload: {HIDDEN_PAYLOAD}", f"Answer payload: {HIDDEN_PAYLOAD}"]
    shown = details(answer, reader, patient_data=True, with_hex=True).splitlines()
    assert shown[3:] == ["Request payload: {}", 'Answer payload: {"reservoir_ml":14.0}',
                         "Hex (5 bytes): 03 01 07 83 00"]
    assert "Request payload: in clear (see hex)" in details(reader.rows[5], reader, False, False)


def test_a_payload_is_searched_only_while_shown():
    reader = read_trace(SESSION)
    looking = TraceFilter(search="RESERVOIR_ML")
    assert [row.line for row in reader.rows if looking.shows(row, reader, patient_data=True)] == [9]
    assert not any(looking.shows(row, reader, patient_data=False) for row in reader.rows)


def test_the_trace_saved_keeps_its_opened_payloads_only_when_shown():
    without = trace_to_save(SESSION, patient_data=False).splitlines()
    assert len(without) == len(SESSION) - 2 and not any(" PLAIN " in line for line in without)
    assert trace_to_save(SESSION, patient_data=True).splitlines() == SESSION

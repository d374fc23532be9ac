"""The Wire trace page: the session's frames live from the real emulator (a corrupted frame shown dropped), the
filter and the search, patient data hidden until asked each time, the role, and a 10,000-row trace file."""

from __future__ import annotations

from tests.support.clinic_fixtures import KIM, OSEI
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect, new_window, shown
from ui.main_window import CONNECT_TAB, TRACE_TAB
from ui.view_models.wire_trace import HIDDEN_PAYLOAD, LiveTrace
from ui.wire_trace_page import WireTracePage


def select(page: WireTracePage, shown_row: int) -> str:
    page.table.setCurrentIndex(page.model.index(shown_row, 0))
    return page.details.toPlainText()


def column(page: WireTracePage, name: int) -> list[str]:
    return [page.model.index(row, name).data() for row in range(page.model.rowCount())]


def test_a_technician_watches_the_session_filters_searches_and_sees_patient_data_only_when_asked(
        qtbot, tmp_path, start_emulator):
    emulator = start_emulator("--service", "--faults", "seed=1,corrupt=0.15")
    window = new_window(qtbot, tmp_path, user=KIM)
    try:
        connect(qtbot, window, emulator.url)
        window.show_tab(TRACE_TAB)
        page = window.wire_trace
        qtbot.waitUntil(lambda: "READ_STATUS" in column(page, 2), timeout=LINK_TIMEOUT_MS)
        reader = page.model.reader
        assert reader.problems == [] and reader.exchanges[0].command == "HELLO"

        answer = next(row for row in range(page.model.rowCount())
                      if page.model.row(row).answer and page.model.row(row).command == "READ_STATUS")
        text = select(page, answer)
        assert "Answer payload: " + HIDDEN_PAYLOAD in text and "reservoir" not in text
        page.patient_data.setChecked(True)
        shown_again = next(row for row in range(page.model.rowCount())
                           if page.model.row(row).answer and page.model.row(row).command == "READ_STATUS")
        assert "reservoir" in select(page, shown_again)
        window.show_tab(CONNECT_TAB)
        window.show_tab(TRACE_TAB)
        assert not page.patient_data.isChecked()  # off again each time the page is shown

        page.command.setCurrentIndex(page.command.findData("READ_STATUS"))
        expected = sum(row.command == "READ_STATUS" for row in reader.rows)
        assert set(column(page, 2)) == {"READ_STATUS"} and page.model.rowCount() == expected
        page.command.setCurrentIndex(0)
        page.search.setText("identify")  # its frames, and the notes that name it
        assert {page.model.row(row).command or "note" for row in range(page.model.rowCount())} <= {"IDENTIFY", "note"}
        assert all("identify" in page.model.row(row).text.casefold() for row in range(page.model.rowCount())
                   if not page.model.row(row).command) and "IDENTIFY" in column(page, 2)
        page.search.clear()

        page.problems_only.setChecked(True)
        marks = column(page, 6)
        assert marks and all(marks)
        assert any(mark.startswith("DROPPED ") and mark.endswith(" bytes") for mark in marks)
        dropped = next(row for row, mark in enumerate(marks) if mark.startswith("DROPPED "))
        page.hex.setChecked(True)
        assert f"Hex ({page.model.row(dropped).dropped_bytes} bytes): " in select(page, dropped)
    finally:
        window.close()


def test_the_page_is_a_technicians_and_a_testers_not_a_clinicians(qtbot, tmp_path):
    window = new_window(qtbot, tmp_path, user=OSEI)
    try:
        assert not window.tabs.isTabEnabled(TRACE_TAB)
        assert "may not view the wire trace" in window.tabs.tabToolTip(TRACE_TAB)
    finally:
        window.close()


def lines_of(count: int) -> list[str]:
    """``count`` answered exchanges, two rows each, a hundred microseconds apart."""
    lines = ["2027-03-28T01:00:00.000000 TRACE itb-trace/2 utc_offset=+01:00"]
    for number in range(count):
        seq, at = number % 256, number * 100
        lines += [f"2027-03-28T01:00:{at // 1_000_000:02d}.{at % 1_000_000:06d} TX seq={seq} READ_STATUS sealed: 01 00",
                  f"2027-03-28T01:00:{at // 1_000_000:02d}.{at % 1_000_000 + 50:06d} RX 02 00",
                  f"2027-03-28T01:00:{at // 1_000_000:02d}.{at % 1_000_000 + 50:06d} FRAME seq={seq} READ_STATUS OK "
                  "(answer (sealed))",
                  f"2027-03-28T01:00:{at // 1_000_000:02d}.{at % 1_000_000 + 60:06d} PLAIN (patient data) RX "
                  f"seq={seq} READ_STATUS OK: {{\"reservoir_ml\":{number}}}"]
    return lines


def test_a_trace_file_of_ten_thousand_rows_opens_fast_and_exports(qtbot, tmp_path):
    path = tmp_path / "big.log"
    path.write_text("\n".join([*lines_of(5000), "not a trace line"]) + "\n")
    page = shown(qtbot, WireTracePage(LiveTrace()), (900, 600))
    assert page.open_file(path)
    page.table.scrollToBottom()
    qtbot.wait(0)  # the view paints its last rows: asked for those on screen only, each one height
    assert page.model.rowCount() == 10_000 and page.table.verticalHeader().sectionResizeMode(0).name == "Fixed"
    assert page.problems.text() == "1 lines could not be read (line 20002: not a trace line (a time to the " \
                                   "microsecond, a kind in capitals, its fields))"
    assert column(page, 5)[:2] == ["", "0.1 ms"]  # 50 microseconds, to a tenth of a ms

    page.search.setText("seq=")  # nothing in the cells: the search reads what is shown
    assert page.model.rowCount() == 0
    page.search.setText('"reservoir_ml":4999')  # a payload matches only while patient data is shown
    assert page.model.rowCount() == 0
    page.patient_data.setChecked(True)
    assert page.model.rowCount() == 1
    page.patient_data.setChecked(False)
    page.search.clear()
    page.status.setCurrentIndex(page.status.findData("OK"))
    page.export_rows(tmp_path / "rows.csv")
    exported = (tmp_path / "rows.csv").read_text(encoding="utf-8-sig").splitlines()  # a spreadsheet's BOM
    assert exported[0] == "Time,Dir,Command,Seq,Status,Duration,Marks,Line,Hex"
    assert exported[1] == "01:00:00.000,RX,READ_STATUS,0,OK,0.1 ms,,4,02 00" and len(exported) == 5001
    page.save_trace(tmp_path / "saved.log")
    saved = (tmp_path / "saved.log").read_text().splitlines()
    assert len(saved) == 15_002 and not any(" PLAIN " in line for line in saved)
    page.close()


def test_the_live_trace_keeps_the_newest_lines():
    live = LiveTrace(keep=3)
    for number in range(8):
        live.append(str(number))
    assert live.count == 8
    assert live.since(0) == (["4", "5", "6", "7"], 8)  # the 7th line trimmed them to the newest 3, then one more
    assert live.since(6) == (["6", "7"], 8)


def test_the_hex_shows_only_when_asked(qtbot, tmp_path):
    path = tmp_path / "one.log"
    path.write_text("\n".join(lines_of(1)) + "\n")
    page = shown(qtbot, WireTracePage(LiveTrace()))
    page.open_file(path)
    assert "Hex" not in select(page, 0)
    page.hex.setChecked(True)
    assert "Hex (2 bytes): 01 00" in page.details.toPlainText()
    page.close()

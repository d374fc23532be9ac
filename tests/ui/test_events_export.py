"""The event log's CSV export: its cells against expectations written out by hand, all events or only the
ones the filter shows, the file name and folder it suggests, the confirmation, a failed write that leaves
nothing behind, and the Events page as a clinician sees it (kinds in words, nothing cut at 1024 x 700).
The file dialog is replaced (``EventsPage.choose_path``): no test opens a real one."""

from __future__ import annotations

import csv
import os
from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt

from tests.support.layout_check import unreadable
from tests.support.ui_actions import LINK_TIMEOUT_MS, clinic_session
from programmer.library import load_library
from programmer.port import PumpEvent
from ui.view_models import export
from ui.emulator import set_up_demo_patient
from ui.view_models.event_rows import EventRows
from ui.events import EventsPage, documents_folder
from ui.view_models.export import csv_text, default_file_name, event_table, write_atomically
from ui.main_window import EVENTS_TAB, MainWindow

SERIAL = "E20-05D474"
EXPORTED_AT = datetime(2026, 12, 2, 10, 15, 0, 400_000)  # rounds to 10:15:00 in the file
TIME = datetime(2026, 12, 2, 7, 27, 21)
REFILL = {"added_ml": 14.0, "calculated_ml": 0.0, "checksum": "56a055acfc58fead",
          "drug": {"concentration_per_ml": 500.0, "dose_unit": "mcg", "name": "baclofen"},
          "refill_id": "9339084bfdf24287a0be9a9e0adebdba", "therapy_stopped": False, "withdrawn_ml": 0.0}
EVENTS = [
    PumpEvent(0, TIME, "power_on", {"factory_new": True}),
    PumpEvent(1, TIME, "refill", REFILL),
    PumpEvent(3, TIME, "program_activated", {"checksum": "d90bfded48050775", "daily_dose": 150.0, "dose_unit": "mcg",
                                             "previous": "56a055acfc58fead", "previous_daily_dose": 0.0,
                                             "previous_dose_unit": "mcg"}),
    PumpEvent(4, datetime(2026, 12, 2, 8, 0, 0, 600_000), "clock_set",
              {"old": "2026-12-01T02:56:59", "new": "2026-12-02T08:00:00"}),
    PumpEvent(5, datetime(2026, 12, 2, 9, 0), "bolus_started",
              {"bolus_id": "b-1", "dose": 50.0, "dose_unit": "mcg", "volume_ml": 0.1, "duration_min": 30.0}),
    PumpEvent(6, datetime(2026, 12, 2, 9, 30), "bolus_done", {"bolus_id": "b-1", "delivered": 50.0}),
]
FIXED = ["Pump serial", "Exported at (this computer's clock)", "Event number", "Event time (pump clock)", "Kind",
         "Description"]
DETAIL_COLUMNS = ["added_ml (mL)", "bolus_id", "calculated_ml (mL)", "checksum", "daily_dose (dose_unit per day)",
                  "delivered (dose_unit of its bolus_started)", "dose (dose_unit)", "dose_unit",
                  "drug.concentration_per_ml (drug.dose_unit per mL)", "drug.dose_unit", "drug.name",
                  "duration_min (min)",
                  "factory_new", "new (pump clock)", "old (pump clock)", "previous",
                  "previous_daily_dose (previous_dose_unit per day)", "previous_dose_unit", "refill_id",
                  "therapy_stopped", "volume_ml (mL)", "withdrawn_ml (mL)"]


def row(index: str, time: str, kind: str, description: str, **details: str) -> list[str]:
    """An expected row: the fixed cells, then each detail column's, empty unless given (by key, with ``__``
    for the dot of a nested key)."""
    given = {key.replace("__", "."): value for key, value in details.items()}
    return [SERIAL, "2026-12-02T10:15:00", index, time, kind, description,
            *(given.get(column.split(" ")[0], "") for column in DETAIL_COLUMNS)]


EXPECTED_ROWS = [
    row("0", "2026-12-02T07:27:21", "Switched on", "first switch-on of a factory-new pump", factory_new="true"),
    row("1", "2026-12-02T07:27:21", "Refill",
        "added 14 mL, withdrawn 0 mL (pump had calculated 0 mL); drug baclofen 500 mcg/mL; therapy kept",
        added_ml="14.0", calculated_ml="0.0", checksum="56a055acfc58fead", drug__concentration_per_ml="500.0",
        drug__dose_unit="mcg", drug__name="baclofen", refill_id="9339084bfdf24287a0be9a9e0adebdba",
        therapy_stopped="false", withdrawn_ml="0.0"),
    row("3", "2026-12-02T07:27:21", "Program activated", "now 150 mcg/day, was 0 mcg/day (program d90bfded)",
        checksum="d90bfded48050775", daily_dose="150.0", dose_unit="mcg", previous="56a055acfc58fead",
        previous_daily_dose="0.0", previous_dose_unit="mcg"),
    row("4", "2026-12-02T08:00:01", "Clock set",
        "pump clock set from Tue 01 Dec 2026 02:56:59 to Wed 02 Dec 2026 08:00:00 (29 h 3 min 1 s forward)",
        new="2026-12-02T08:00:00", old="2026-12-01T02:56:59"),
    row("5", "2026-12-02T09:00:00", "Bolus started", "bolus b-1: 50 mcg (0.1 mL) over 30 min",
        bolus_id="b-1", dose="50.0", dose_unit="mcg", duration_min="30.0", volume_ml="0.1"),
    row("6", "2026-12-02T09:30:00", "Bolus completed", "bolus b-1: 50 mcg delivered in full",
        bolus_id="b-1", delivered="50.0"),
]


def page_with_events(qtbot, events=EVENTS) -> EventsPage:
    page = EventsPage()
    qtbot.addWidget(page)
    page.setEnabled(True)
    page.set_pump(SERIAL)
    page.show_events(events)
    return page


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


# --- the cells, by hand ---------------------------------------------------------------------------------


def test_every_event_becomes_a_row_with_the_pump_the_clocks_and_a_column_per_detail():
    table = event_table(EventRows(EVENTS).described(range(len(EVENTS))), SERIAL, EXPORTED_AT)
    assert table.header == FIXED + DETAIL_COLUMNS
    assert table.rows == EXPECTED_ROWS


def test_a_subset_has_only_its_own_detail_columns_in_order_of_the_events():
    refill, power_on = EVENTS[1], EVENTS[0]
    table = event_table([(refill, "r"), (power_on, "p")], SERIAL, EXPORTED_AT)  # given newest first
    assert table.header == FIXED + ["added_ml (mL)", "calculated_ml (mL)", "checksum",
                                    "drug.concentration_per_ml (drug.dose_unit per mL)", "drug.dose_unit",
                                    "drug.name", "factory_new", "refill_id", "therapy_stopped", "withdrawn_ml (mL)"]
    assert [cells[2] for cells in table.rows] == ["0", "1"]  # oldest first in the file
    assert table.rows[0][6:] == ["", "", "", "", "", "", "true", "", "", ""]


def test_csv_text_is_rfc_4180_and_quotes_what_needs_it():
    table = export.Table(["a", "b"], [["1, 2", 'say "hi"']])
    assert csv_text(table) == 'a,b\r\n"1, 2","say ""hi"""\r\n'


def test_the_default_file_name_names_the_pump_and_the_day():
    assert default_file_name(SERIAL, date(2026, 12, 2)) == "E20-05D474-events-2026-12-02.csv"
    assert default_file_name("A/B 7", date(2026, 1, 5)) == "A_B_7-events-2026-01-05.csv"  # never a path


# --- writing whole or not at all ---------------------------------------------------------------------


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("old", encoding="utf-8")
    write_atomically(path, "a,b\r\n")
    assert path.read_bytes() == b"\xef\xbb\xbfa,b\r\n"  # UTF-8 with its mark, for spreadsheets
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_a_failed_write_raises_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    path.write_text("old", encoding="utf-8")

    def disk_full(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, "a,b\r\n" * 1000)
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


# --- the page -----------------------------------------------------------------------------------------


def test_saving_writes_every_event_unless_only_the_shown_ones_are_asked_for(qtbot, tmp_path):
    page = page_with_events(qtbot)
    asked = []
    page.choose_path = lambda parent, suggested: asked.append(suggested) or tmp_path / "all.csv"
    page.kind.setCurrentIndex(page.kind.findData("refill"))
    assert page.proxy.rowCount() == 1
    with qtbot.waitSignal(page.exported, timeout=1000) as said:
        page.export.click()
    rows = read_csv(tmp_path / "all.csv")
    assert rows[0] == FIXED + DETAIL_COLUMNS and [r[2] for r in rows[1:]] == ["0", "1", "3", "4", "5", "6"]
    assert said.args == [f"Saved 6\u00a0events (all events read) to {tmp_path / 'all.csv'}."]
    assert page.saved.text() == said.args[0] and page.saved.isVisibleTo(page)

    page.only_shown.setChecked(True)
    page.choose_path = lambda parent, suggested: tmp_path / "shown.csv"
    with qtbot.waitSignal(page.exported, timeout=1000) as said:
        page.export.click()
    rows = read_csv(tmp_path / "shown.csv")
    assert [r[4] for r in rows[1:]] == ["Refill"]
    assert said.args == [f"Saved 1\u00a0event (the events shown) to {tmp_path / 'shown.csv'}."]
    assert asked[0].name == "E20-05D474-events-" + datetime.now().date().isoformat() + ".csv"


def test_cancelling_the_file_dialog_writes_nothing(qtbot, tmp_path):
    page = page_with_events(qtbot)
    page.choose_path = lambda parent, suggested: None
    with qtbot.assertNotEmitted(page.exported), qtbot.assertNotEmitted(page.export_failed):
        page.export.click()
    assert not page.saved.isVisibleTo(page)


def test_a_failed_save_says_why_and_leaves_no_file(qtbot, tmp_path):
    page = page_with_events(qtbot)
    target = tmp_path / "no such folder" / "log.csv"
    page.choose_path = lambda parent, suggested: target
    with qtbot.waitSignal(page.export_failed, timeout=1000) as said:
        page.export.click()
    assert said.args[0].startswith(f"The event log was NOT saved to {target}: No such file or directory.")
    assert not target.parent.exists()


def test_the_save_dialog_opens_in_documents_or_else_home(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert documents_folder() == tmp_path  # no Documents folder: the home folder, never the working directory
    (tmp_path / "Documents").mkdir()
    assert documents_folder() == tmp_path / "Documents"
    page = page_with_events(qtbot)
    assert page.suggested_path().parent == tmp_path / "Documents"


def test_another_pump_clears_the_events_and_export_needs_a_pump(qtbot):
    page = EventsPage()
    qtbot.addWidget(page)
    page.setEnabled(True)
    page.show_events(EVENTS)
    assert not page.export.isEnabled()  # no serial: a file could not say whose log it is
    page.set_pump(SERIAL)
    assert page.export.isEnabled()
    page.set_pump(SERIAL)
    assert page.model.rowCount() == len(EVENTS)  # the same pump again keeps them
    page.set_pump("E20-OTHER")
    assert page.model.rowCount() == 0 and not page.export.isEnabled()


def test_kinds_are_filtered_by_their_full_names_and_details_are_on_demand(qtbot):
    page = page_with_events(qtbot)
    names = [page.kind.itemText(i) for i in range(page.kind.count())]
    assert names == ["All kinds", "Bolus completed", "Bolus started", "Clock set", "Program activated", "Refill",
                     "Switched on"]
    page.kind.setCurrentIndex(names.index("Program activated"))
    shown = page.proxy.index(0, 2)
    assert shown.data() == "Program activated"
    assert "d90bfded48050775" not in page.proxy.index(0, 3).data()  # a short id in the sentence...
    assert "checksum: d90bfded48050775" in shown.data(Qt.ToolTipRole)  # ...the whole one on demand
    page.table.setCurrentIndex(shown)
    assert "previous: 56a055acfc58fead" in page.details.text()


# --- with the real emulator, in the window -----------------------------------------------------------


@pytest.fixture
def window(qtbot, tmp_path):
    window = MainWindow(load_library(), clinic_session(tmp_path))
    qtbot.addWidget(window)
    yield window
    window.close()


def test_the_emulators_log_exported_from_the_window_names_the_pump(qtbot, window, start_emulator, tmp_path):
    emulator = start_emulator()
    set_up_demo_patient(emulator.url)
    size = QSize(1024, 700)
    window.resize(size)
    window.show()
    window.connect_to(emulator.url)
    qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    page = window.events
    page.set_pump(window.snapshot.identity.serial)  # what the window does with each snapshot (see the report)
    window.read_events()
    qtbot.waitUntil(lambda: not window.link.busy and page.model.rowCount() > 0, timeout=LINK_TIMEOUT_MS)
    window.show_tab(EVENTS_TAB)

    def readable():
        problems = unreadable(window, size)
        assert page.table.isVisible() and not problems, "\n".join(problems)

    qtbot.waitUntil(readable, timeout=5000)
    page.choose_path = lambda parent, suggested: tmp_path / suggested.name
    page.export.click()
    serial = window.snapshot.identity.serial
    rows = read_csv(next(tmp_path.glob(f"{serial}-events-*.csv")))
    events = page.model.events
    assert len(rows) == 1 + len(events) and {r[0] for r in rows[1:]} == {serial}
    # The demo patient's set-up in a session of its own, then the window's session, open while it reads.
    assert [r[4] for r in rows[1:]] == ["Switched on", "Programmer session started", "Refill", "Program received",
                                        "Program activated", "Programmer session ended", "Programmer session started"]
    header = rows[0]
    assert rows[3][header.index("added_ml (mL)")] == "14.0"
    assert rows[3][header.index("refill_id")] == events[2].detail["refill_id"]  # ids whole in the file
    assert not any(name.endswith(".part") for name in os.listdir(tmp_path))

"""The Wire trace page (technician, tester): the frames of this session as they cross the link, or a trace file.

A table of what was sent and received (time, direction, command, seq, status, the request-to-answer time, resends
and drops), filtered by command, status or problems and searched; a details pane with the exchange's payloads and,
on demand, the hex; the shown rows exported as CSV, or the trace itself saved. The reading is
``programmer.trace_reading``'s and the wording ``ui.view_models.wire_trace``'s; this module only shows them.

Why a page of the main window and not a window of its own: the lock hides the pages, so a trace holding patient
data is never left on the screen of a locked programmer. "Show patient data" is off whenever the page is shown
again: the payloads, opened in memory for this view, appear only when asked for each time.

Why a model of its own over a list of shown rows, with fixed row heights: a session's trace grows to ten thousand
rows and more, and the view then asks only for the rows on screen, each a few string operations.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSplitter, QTableView, QVBoxLayout,
                               QWidget)

from programmer.trace_reading import Row, TraceReader
from ui.events import ask_save_path, documents_folder
from ui.view_models.export import write_atomically
from ui.view_models.wire_trace import (ANY, COLUMNS, LiveTrace, TraceFilter, cells, choices, details, marks,
                                      rows_csv, searchable, trace_to_save)

POLL_MS = 250
"""How often the page takes the live session's new lines while it is shown: a burst of frames is one update."""
DISPLAY, FOREGROUND = int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ForegroundRole)
PROBLEM_COLOUR = QBrush(QColor("#b00020"))
ROW_HEIGHT_LINES = 1.4
NO_SELECTION = "Select a row to see its exchange: the payloads (sealed, or opened when shown) and the timing."


class TraceRows(QAbstractTableModel):
    """The rows of one trace that the filter lets through, in the order they happened."""

    def __init__(self) -> None:
        super().__init__()
        self.reader = TraceReader()
        self.lines: list[str] = []
        self.filter = TraceFilter()
        self.patient_data = False
        self.shown: list[int] = []
        """The reader's row index of each row shown."""
        self._texts: dict[int, str] = {}
        """Each row's ``searchable`` text once a search needed it: typing a search reads each row's cells once."""

    def restart(self, lines: list[str]) -> None:
        """Read ``lines`` from the start (a file opened, or the live session again)."""
        self.beginResetModel()
        self.reader, self.lines, self._texts = TraceReader().feed_all(lines), list(lines), {}
        self.shown = self._passing(range(len(self.reader.rows)))
        self.endResetModel()

    def add(self, lines: list[str]) -> None:
        """Read the live session's new lines; the rows they add that pass the filter are appended."""
        first = len(self.reader.rows)
        self._texts.clear()  # a DONE line changes its answer's duration and marks
        self.reader.feed_all(lines)
        self.lines += lines
        new = self._passing(range(first, len(self.reader.rows)))
        if new:
            self.beginInsertRows(QModelIndex(), len(self.shown), len(self.shown) + len(new) - 1)
            self.shown += new
            self.endInsertRows()
        elif lines:  # a DONE or PLAIN line changes rows already shown (their duration, their payload)
            self.dataChanged.emit(self.index(0, 0), self.index(max(len(self.shown) - 1, 0), len(COLUMNS) - 1))

    def refilter(self, trace_filter: TraceFilter, patient_data: bool) -> None:
        self.beginResetModel()
        self.filter, self.patient_data = trace_filter, patient_data
        self.shown = self._passing(range(len(self.reader.rows)))
        self.endResetModel()

    def row(self, shown_row: int) -> Row:
        return self.reader.rows[self.shown[shown_row]]

    def shown_rows(self) -> list[Row]:
        return [self.reader.rows[index] for index in self.shown]

    def _passing(self, indices: range) -> list[int]:
        rows, reader, keep, texts = self.reader.rows, self.reader, self.filter.shows, self._texts
        if not self.filter.search:
            return [index for index in indices if keep(rows[index], reader, self.patient_data)]
        for index in indices:
            if index not in texts:
                texts[index] = searchable(rows[index], reader)
        return [index for index in indices if keep(rows[index], reader, self.patient_data, texts[index])]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.shown)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=DISPLAY):
        if orientation == Qt.Orientation.Horizontal and role == DISPLAY:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=DISPLAY):
        if not index.isValid():
            return None
        if role == DISPLAY:
            return cells(self.row(index.row()), self.reader)[index.column()]
        if role == FOREGROUND and marks(self.row(index.row()), self.reader):
            return PROBLEM_COLOUR
        return None


class WireTracePage(QWidget):
    """``live``: the current session's lines (the link traces into it). The page reads them while it is shown."""

    def __init__(self, live: LiveTrace) -> None:
        super().__init__()
        self.live = live
        self.live_count = 0
        self.file: Path | None = None
        """The trace file shown; None: the live session."""
        self.model = TraceRows()
        self.source = QLabel()
        self.source.setAccessibleName("Trace shown")
        self.live_button = QPushButton("&Live session")
        self.open_button = QPushButton("&Open trace file…")
        self.save_button = QPushButton("Save trace &file…")
        self.export_button = QPushButton("Export shown &rows (CSV)…")
        self.command = QComboBox()
        self.command.setAccessibleName("Command filter")
        self.status = QComboBox()
        self.status.setAccessibleName("Status filter")
        self.problems_only = QCheckBox("Only pro&blems")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search")
        self.search.setAccessibleName("Search")
        self.patient_data = QCheckBox("Show patient &data")
        self.patient_data.setToolTip("Show the payloads as opened: doses, reservoir, events. Off each time the page "
                                     "is shown; a trace saved meanwhile keeps them.")
        self.hex = QCheckBox("Show he&x")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Wire trace")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # one height for all: fast at 10,000 rows
        rows.setDefaultSectionSize(round(self.fontMetrics().height() * ROW_HEIGHT_LINES))
        rows.setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Exchange details")
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setAccessibleName("Lines not read")
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.take_live_lines)
        self._lay_out()
        for signal in (self.command.currentIndexChanged, self.status.currentIndexChanged,
                       self.problems_only.toggled, self.search.textChanged, self.patient_data.toggled):
            signal.connect(self._refilter)
        self.hex.toggled.connect(self._show_details)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)
        self.live_button.clicked.connect(self.show_live)
        self.open_button.clicked.connect(self._ask_to_open)
        self.save_button.clicked.connect(self._ask_to_save)
        self.export_button.clicked.connect(self._ask_to_export)
        self.show_live()

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.source, 1)
        for button in (self.live_button, self.open_button, self.save_button, self.export_button):
            top.addWidget(button)
        layout.addLayout(top)
        bar = QHBoxLayout()
        for widget in (self.command, self.status, self.problems_only, self.search, self.patient_data, self.hex):
            bar.addWidget(widget, 1 if widget is self.search else 0)
        layout.addLayout(bar)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        layout.addWidget(split, 1)
        layout.addWidget(self.problems)

    # --- what is shown ------------------------------------------------------------------------------------

    def show_live(self) -> None:
        """Show the current session's trace, from its first line kept."""
        self.file = None
        lines, self.live_count = self.live.since(0)
        self.model.restart(lines)
        self.source.setText("This session, live (payloads kept in memory only)")
        self._shown_changed()
        if self.isVisible():
            self._poll.start()

    def open_file(self, path: Path) -> bool:
        """Show the trace file ``path``; False (and the reason shown) when it cannot be read."""
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            self.problems.setText(f"Cannot read {path}: {exc.strerror or exc}")
            return False
        self._poll.stop()
        self.file = Path(path)
        self.model.restart(lines)
        self.source.setText(f"Trace file {path}")
        self._shown_changed()
        return True

    def take_live_lines(self) -> None:
        """Add the live session's lines traced since the last look (the poll's work)."""
        if self.file is not None:
            return
        lines, self.live_count = self.live.since(self.live_count)
        if lines:
            self.model.add(lines)
            self._update_choices()
            self._show_problems()

    def _shown_changed(self) -> None:
        self._update_choices()
        self._show_problems()
        self._show_details()

    def _update_choices(self) -> None:
        commands, statuses = choices(self.model.reader.rows)
        for box, items, every in ((self.command, commands, "All commands"), (self.status, statuses, "All statuses")):
            wanted = ["", *items]
            if [box.itemData(i) for i in range(box.count())] == wanted:
                continue
            chosen = box.currentData() or ANY
            box.blockSignals(True)
            box.clear()
            for item in wanted:
                box.addItem(item or every, item)
            box.setCurrentIndex(max(box.findData(chosen), 0))
            box.blockSignals(False)

    def _show_problems(self) -> None:
        problems = self.model.reader.problems
        shown = "; ".join(str(problem) for problem in problems[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        self.problems.setText(f"{len(problems)} lines could not be read ({shown}{more})" if problems else "")

    def _refilter(self) -> None:
        self.model.refilter(TraceFilter(self.command.currentData() or ANY, self.status.currentData() or ANY,
                                        self.problems_only.isChecked(), self.search.text().strip()),
                            self.patient_data.isChecked())
        self._show_details()

    def _show_details(self) -> None:
        current = self.table.currentIndex()
        if not current.isValid() or current.row() >= self.model.rowCount():
            self.details.setPlainText(NO_SELECTION)
            return
        self.details.setPlainText(details(self.model.row(current.row()), self.model.reader,
                                          self.patient_data.isChecked(), self.hex.isChecked()))

    # --- files --------------------------------------------------------------------------------------------

    def save_trace(self, path: Path) -> None:
        """Write the trace shown to ``path`` (its payloads only while patient data is shown). Raises OSError."""
        write_atomically(path, trace_to_save(self.model.lines, self.patient_data.isChecked()), encoding="utf-8")

    def export_rows(self, path: Path) -> None:
        """Write the rows shown to ``path`` as CSV. Raises OSError."""
        write_atomically(path, rows_csv(self.model.shown_rows(), self.model.reader))

    def _ask_to_open(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Open a wire trace", str(documents_folder()),
                                                "Wire traces (*.log *.trace *.txt);;All files (*)")
        if chosen:
            self.open_file(Path(chosen))

    def _ask_to_save(self) -> None:
        path = ask_save_path(self, documents_folder() / "wire-trace.log", "Save the wire trace",
                             "Wire traces (*.log)")
        self._write(path, self.save_trace)

    def _ask_to_export(self) -> None:
        path = ask_save_path(self, documents_folder() / "wire-trace.csv", "Export the shown rows as CSV")
        self._write(path, self.export_rows)

    def _write(self, path: Path | None, write) -> None:
        if path is None:
            return
        try:
            write(path)
        except OSError as exc:
            self.problems.setText(f"NOT saved: cannot write {path}: {exc.strerror or exc}")
        else:
            self.problems.setText(f"Saved {path}")

    # --- shown and hidden ---------------------------------------------------------------------------------

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.file is None:
            self.take_live_lines()
            self._poll.start()

    def hideEvent(self, event) -> None:
        """Hidden (another page, the lock): the poll stops and the patient data is hidden again."""
        super().hideEvent(event)
        self._poll.stop()
        self.patient_data.setChecked(False)

"""The Events screen: the pump's event log as a sortable, filterable table that can be saved as CSV.

Model/view so that thousands of events cost nothing to show, sort or filter. The table is for people:
each row's kind and description are words with units (``ui.view_models.event_text``), and everything the pump logged
for it, ids in full, is in the row's tooltip and in the details pane under the table. The CSV
(``ui.view_models.export``) is for records: every row names the pump, the detail keys get columns of their own.

Saving writes every event unless "only the events shown" is ticked, suggests a file named after the pump
and the day in the user's Documents folder, and says afterwards how many events went where, or why
nothing was written. The file dialog is ``choose_path``, replaceable so tests never open a real one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRegularExpression,
                            QSortFilterProxyModel, QStandardPaths, Qt, Signal)
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QTableView, QVBoxLayout, QWidget)

from programmer.clock import computer_now
from programmer.port import PumpEvent
from ui.view_models.event_text import event_details, full_details, kind_name
from ui.view_models.export import csv_text, default_file_name, event_table, write_atomically
from ui.view_models.format import PUMP_CLOCK, count, moment
from ui.widgets import UnitsWholeDelegate, WrappedText, describe, heading

COLUMNS = ("#", f"Time ({PUMP_CLOCK})", "Kind", "Description")
DESCRIPTION = 3
ALL_KINDS = ""
NO_SELECTION = "Select an event to see everything the pump logged for it."


def ask_save_path(parent: QWidget, suggested: Path, title: str = "Save the event log as CSV",
                  files: str = "CSV files (*.csv)") -> Path | None:
    """The system's save dialog, opened at ``suggested``; None when the clinician cancels. A name typed without
    a suffix takes ``suggested``'s."""
    chosen, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), files)
    if not chosen:
        return None
    path = Path(chosen)
    return path if path.suffix else path.with_suffix(suggested.suffix)


def documents_folder() -> Path:
    """The user's Documents folder (where a clinician looks for a saved file), else the home folder: never
    the working directory, which for an application started from a menu is anywhere."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if documents and Path(documents).is_dir():
        return Path(documents)
    return Path.home()


class EventTableModel(QAbstractTableModel):
    def __init__(self):
        super().__init__()
        self.events: list[PumpEvent] = []
        self.details: list[str] = []
        self.full: list[str] = []

    def set_events(self, events: list[PumpEvent]) -> None:
        """Replace the events; they are put into words once here, not at every repaint."""
        self.beginResetModel()
        self.events = list(events)
        self.details = event_details(self.events)
        self.full = [full_details(event) for event in self.events]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.events)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        event = self.events[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(event.index), moment(event.time, seconds=True), kind_name(event.kind),
                    self.details[row])[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.full[row]
        if role == Qt.ItemDataRole.UserRole:
            # what sorting and filtering compare: numbers as numbers, kinds as the pump names them
            return (event.index, event.time.isoformat(), event.kind, self.details[row])[column]
        return None


class EventsPage(QWidget):
    read_requested = Signal()
    exported = Signal(str)
    """After a file was written: how many events, and where, in a sentence (the page shows it too)."""
    export_failed = Signal(str)
    """After a write failed: why, in a sentence; nothing at the chosen path was changed."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.serial: str | None = None
        self.choose_path: Callable[[QWidget, Path], Path | None] = ask_save_path
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Event log"))
        self.model = EventTableModel()
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.proxy.setFilterRole(Qt.ItemDataRole.UserRole)
        self.proxy.setFilterKeyColumn(2)

        # Letters: L, K, O, E; none is a menu's (P, V), the banner's (T, S) or another control's on this page.
        controls = QHBoxLayout()
        self.read = QPushButton("Read the event &log")
        self.read.clicked.connect(self.read_requested)
        kind_label = QLabel("Show &kind:")
        self.kind = QComboBox()
        describe(self.kind, "Show events of kind", "Filters the table below; the export holds every event unless "
                 "'Only the events shown' is ticked.")
        # items come later: "Program activated" in full
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        kind_label.setBuddy(self.kind)
        self.kind.currentIndexChanged.connect(self._filter)
        self.only_shown = QCheckBox("&Only the events shown")
        self.only_shown.setToolTip("Unticked, the file holds every event read, whatever the kind filter shows.")
        self.export = QPushButton("&Export as CSV\u2026")
        self.export.clicked.connect(self._export)
        for widget in (self.read, kind_label, self.kind, self.only_shown, self.export):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout.addLayout(controls)
        self.count = QLabel("Not read yet.")  # on a line of its own: the controls fit a window 700 pixels wide
        layout.addWidget(self.count)
        self.saved = WrappedText()  # the last export's result, until the next one
        self.saved.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                           | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.saved.setVisible(False)
        layout.addWidget(self.saved)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        describe(self.table, "Events", "The pump's event log, newest first: time (pump clock), event, kind and "
                 "details; the selected event's details in full below the table.")
        self.table.verticalHeader().setVisible(False)
        # Details wrap and every row is as tall as its text: a detail cut short could hide the figure that matters.
        self.table.setWordWrap(True)
        self.table.setItemDelegate(UnitsWholeDelegate(self.table))
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        columns.setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)

        self.details = WrappedText(NO_SELECTION)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                             | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.details.setAccessibleName("Everything logged for the selected event")
        layout.addWidget(self.details)
        self.export.setEnabled(False)
        self.setEnabled(False)

    def set_pump(self, serial: str) -> None:
        """The pump now connected, named in every exported row. Another pump's events are cleared: shown
        (or saved) under this pump's serial they would be taken for its own."""
        if self.serial is not None and serial != self.serial and self.model.rowCount():
            self.show_events([])
            self.count.setText("Not read yet.")
        self.serial = serial
        self._enable_export()

    def show_events(self, events: list[PumpEvent]) -> None:
        """Show ``events``, read from the pump last given to ``set_pump``."""
        self.model.set_events(events)
        self.kind.blockSignals(True)
        self.kind.clear()
        self.kind.addItem("All kinds", ALL_KINDS)
        for kind in sorted({event.kind for event in events}, key=kind_name):
            self.kind.addItem(kind_name(kind), kind)
        self.kind.blockSignals(False)
        self._filter()
        self.details.setText(NO_SELECTION)
        self._enable_export()

    def _enable_export(self) -> None:
        """Saving needs events and the pump's serial (every row names the pump)."""
        self.export.setEnabled(self.model.rowCount() > 0 and self.serial is not None)

    def _filter(self) -> None:
        kind = self.kind.currentData() or ALL_KINDS
        self.proxy.setFilterRegularExpression("" if not kind else f"^{QRegularExpression.escape(kind)}$")
        # Now, not at the next layout pass: rows first sized while the columns were still being laid out
        # would otherwise stay too tall (or short) for their text until then.
        self.table.resizeRowsToContents()
        self.count.setText(f"{self.proxy.rowCount()} of {count(self.model.rowCount(), 'event')} shown.")

    def _show_details(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.details.setText(current.data(Qt.ItemDataRole.ToolTipRole) if current.isValid() else NO_SELECTION)

    def visible_rows(self) -> list[int]:
        """Source rows the filter shows."""
        return [self.proxy.mapToSource(self.proxy.index(row, 0)).row() for row in range(self.proxy.rowCount())]

    def rows_to_export(self) -> list[int]:
        """Every event, or only those shown when the clinician ticked "only the events shown"."""
        return self.visible_rows() if self.only_shown.isChecked() else list(range(self.model.rowCount()))

    def suggested_path(self) -> Path:
        assert self.serial is not None, "export is enabled only once set_pump named the pump"
        return documents_folder() / default_file_name(self.serial, computer_now().date())

    def export_csv(self, path: Path) -> int:
        """Write the events chosen (``rows_to_export``) to ``path``, whole or not at all; returns how many.
        Raises OSError when the file cannot be written."""
        rows = self.rows_to_export()
        assert self.serial is not None, "export is enabled only once set_pump named the pump"
        table = event_table([(self.model.events[row], self.model.details[row]) for row in rows], self.serial,
                            computer_now())
        write_atomically(Path(path), csv_text(table))
        return len(rows)

    def _export(self) -> None:
        path = self.choose_path(self, self.suggested_path())
        if path is None:
            return
        which = "the events shown" if self.only_shown.isChecked() else "all events read"
        try:
            written = self.export_csv(path)
        except OSError as exc:
            message = f"The event log was NOT saved to {path}: {exc.strerror or exc}. Nothing there was changed."
            self._say(message)
            self.export_failed.emit(message)
            return
        message = f"Saved {count(written, 'event')} ({which}) to {path}."
        self._say(message)
        self.exported.emit(message)

    def _say(self, message: str) -> None:
        self.saved.setText(message)
        self.saved.setVisible(True)

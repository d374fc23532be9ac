"""The Events screen: the pump's event log as a sortable, filterable table that can be saved as CSV.

Model/view so that thousands of events cost nothing to show, sort or filter. The table is for people:
its details are sentences with units (``ui.event_text``). The CSV is for machines and keeps the pump's
own keys: it has the same columns as ``pump-programmer events --csv`` (index, time, kind, detail as
JSON) so files from the GUI and the command line can be compared directly.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRegularExpression, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QTableView, QVBoxLayout, QWidget)

from programmer.plan_report import iso
from programmer.port import PumpEvent
from ui.event_text import TIME_FORMAT, event_details
from ui.widgets import heading

COLUMNS = ("#", "Time (pump clock)", "Kind", "Details")
ALL_KINDS = ""


class EventTableModel(QAbstractTableModel):
    def __init__(self):
        super().__init__()
        self.events: list[PumpEvent] = []
        self.details: list[str] = []

    def set_events(self, events: list[PumpEvent]) -> None:
        """Replace the events; their details are put into words once here, not at every repaint."""
        self.beginResetModel()
        self.events = list(events)
        self.details = event_details(self.events)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.events)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        event, details = self.events[index.row()], self.details[index.row()]
        column = index.column()
        if role == Qt.DisplayRole:
            return (str(event.index), event.time.strftime(TIME_FORMAT), event.kind.replace("_", " "), details)[column]
        if role == Qt.UserRole:  # what sorting and filtering compare: numbers as numbers, kinds as the pump names them
            return (event.index, event.time.isoformat(), event.kind, details)[column]
        return None

    def write_csv(self, path: Path, rows: list[int]) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "time", "kind", "detail"])
            for row in rows:
                event = self.events[row]
                writer.writerow([event.index, iso(event.time), event.kind, json.dumps(event.detail, sort_keys=True)])


class EventsPage(QWidget):
    read_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Event log"))
        self.model = EventTableModel()
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.UserRole)
        self.proxy.setFilterRole(Qt.UserRole)
        self.proxy.setFilterKeyColumn(2)

        controls = QHBoxLayout()
        self.read = QPushButton("&Read the event log")
        self.read.clicked.connect(self.read_requested)
        kind_label = QLabel("Show &kind:")
        self.kind = QComboBox()
        self.kind.setAccessibleName("Show events of kind")
        kind_label.setBuddy(self.kind)
        self.kind.currentIndexChanged.connect(self._filter)
        self.export = QPushButton("&Save as CSV…")
        self.export.clicked.connect(self._export)
        self.count = QLabel("Not read yet.")
        for widget in (self.read, kind_label, self.kind, self.export):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.count)
        layout.addLayout(controls)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setTabKeyNavigation(False)
        self.table.setAccessibleName("Events")
        self.table.verticalHeader().setVisible(False)
        # Details wrap and every row is as tall as its text: a detail cut short could hide the figure that matters.
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.ElideNone)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeToContents)
        columns.setSectionResizeMode(3, QHeaderView.Stretch)
        layout.addWidget(self.table, 1)
        self.export.setEnabled(False)
        self.setEnabled(False)

    def show_events(self, events: list[PumpEvent]) -> None:
        self.model.set_events(events)
        self.kind.blockSignals(True)
        self.kind.clear()
        self.kind.addItem("All kinds", ALL_KINDS)
        for kind in sorted({event.kind for event in events}):
            self.kind.addItem(kind.replace("_", " "), kind)
        self.kind.blockSignals(False)
        self._filter()
        self.export.setEnabled(bool(events))

    def _filter(self) -> None:
        kind = self.kind.currentData() or ALL_KINDS
        self.proxy.setFilterRegularExpression("" if not kind else f"^{QRegularExpression.escape(kind)}$")
        self.count.setText(f"{self.proxy.rowCount()} of {self.model.rowCount()} events shown")

    def visible_rows(self) -> list[int]:
        """Source rows in the order shown (sorted and filtered), for the CSV export."""
        return [self.proxy.mapToSource(self.proxy.index(row, 0)).row() for row in range(self.proxy.rowCount())]

    def export_csv(self, path: Path) -> None:
        self.model.write_csv(Path(path), self.visible_rows())

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the event log as CSV", "pump-events.csv", "CSV files (*.csv)")
        if path:
            self.export_csv(Path(path))

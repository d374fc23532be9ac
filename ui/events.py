"""The Events screen: the pump's event log as a sortable, filterable table that can be saved as CSV.

The table is for people: each row's kind and description are words with units (``ui.view_models.event_text``),
and everything the pump logged for it, ids in full, is in the row's tooltip and in the details pane under the
table. The CSV (``ui.view_models.export``) is for records: every row names the pump, the detail keys get
columns of their own.

Ten thousand events load, paint and filter in a few milliseconds, so that no read of a log freezes the
window: every row is one line of one height and every column but the description has a width fixed from
sample texts (``ui.view_models.event_rows``), so Qt never measures a cell; a description too long for its
column is cut at a whole word with an ellipsis (``ui.widgets.WordCutDelegate``); words are made only for the
rows someone looks at; sorting and filtering are one Python sort (``ShownEvents``), not a comparison through
the model per pair of rows.

Saving writes every event unless "only the events shown" is ticked, suggests a file named after the pump
and the day in the user's Documents folder, and says afterwards how many events went where, or why
nothing was written. The file dialog is ``choose_path``, replaceable so tests never open a real one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QPersistentModelIndex, QStandardPaths, Qt, Signal
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QStyle, QTableView, QVBoxLayout, QWidget)

from programmer.clock import computer_now
from programmer.port import PumpEvent
from ui.view_models.event_rows import DESCRIPTION, EventRows, widest
from ui.view_models.event_text import kind_name
from ui.view_models.export import csv_text, default_file_name, event_table, write_atomically
from ui.view_models.format import PUMP_CLOCK, count
from ui.widgets import WordCutDelegate, WrappedText, describe, heading

COLUMNS = ("#", f"Time ({PUMP_CLOCK})", "Kind", "Description")
ALL_KINDS = ""
DISPLAY, TOOLTIP = int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ToolTipRole)
"""The roles the models answer, as plain numbers: compared at every cell painted, so not looked up each time."""
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


def cell_data(rows: EventRows, row: int, column: int, role: int) -> str | None:
    """What a cell of either model holds: its text whole, and everything logged for its event as its tooltip.
    Nothing else: the view asks for seven roles of every cell it paints, so the others are refused first."""
    if role == DISPLAY:
        return rows.cell(row, column)
    if role == TOOLTIP:
        return rows.full(row)
    return None


class EventTableModel(QAbstractTableModel):
    """Every event read, in the pump's order, whatever the table shows: what is exported."""

    def __init__(self):
        super().__init__()
        self.rows = EventRows()

    @property
    def events(self) -> list[PumpEvent]:
        return self.rows.events

    def set_events(self, events: list[PumpEvent]) -> None:
        """Replace the events; each is put into words when first shown, and only once."""
        self.beginResetModel()
        self.rows = EventRows(events)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=DISPLAY):
        return cell_data(self.rows, index.row(), index.column(), role) if index.isValid() else None


class ShownEvents(QAbstractTableModel):
    """The events the table shows: those of the kind chosen (every kind at first), in the order chosen.

    Not a QSortFilterProxyModel: that compares rows through the model, in Python, about 260,000 times to sort
    ten thousand events, and again on every change of the filter. Here a change is one sort of plain values
    (``EventRows.shown``) and a reset of the view."""

    def __init__(self, source: EventTableModel):
        super().__init__()
        self.source = source
        self.kind = ALL_KINDS
        self.column, self.descending = 0, False
        self.order: list[int] = []
        """The source row of each row shown."""
        source.modelReset.connect(self._arrange)

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self._arrange()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """What the table asks for when its header is clicked (and ``QTableView.sortByColumn``)."""
        self.column, self.descending = column, order == Qt.SortOrder.DescendingOrder
        self._arrange()

    def _arrange(self) -> None:
        self.beginResetModel()
        self.order = self.source.rows.shown(self.kind, self.column, self.descending)
        self.endResetModel()

    def row_of(self, source_row: int) -> int | None:
        """Where the event in ``source_row`` is shown, or None when the filter hides it."""
        try:
            return self.order.index(source_row)
        except ValueError:
            return None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        return self.source.headerData(section, orientation, role)

    def data(self, index: QModelIndex | QPersistentModelIndex, role=DISPLAY):
        return cell_data(self.source.rows, self.order[index.row()], index.column(), role) if index.isValid() else None


class EventsTable(QTableView):
    """The table of events: rows of one line, of one height, and columns whose widths are set from sample
    texts (``EventRows.column_samples``) when the events or the font change; the description takes the rest
    of the width and is cut at a word when it needs more (``WordCutDelegate``). Qt never measures a cell."""

    def __init__(self, shown: ShownEvents):
        super().__init__()
        self.source = shown.source
        self._widths: dict[tuple[str, tuple[str, ...]], float] = {}
        """The width of each column's samples in a font (``widest``), measured once."""
        self.setModel(shown)
        # Laid out as soon as the rows change, not at the next turn of the event loop: the rows are then
        # painted once, not once before the layout and again after it.
        shown.modelReset.connect(self.doItemsLayout)
        # Kept for a short log too: a scroll bar that came with a long one would narrow the description, cut
        # again and painted again, and move it under the eye.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setWordWrap(False)
        self.setItemDelegateForColumn(DESCRIPTION, WordCutDelegate(self))
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        columns = self.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        columns.setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.fit()

    def fit(self) -> None:
        """Set the rows' height and the first columns' widths for the events shown and the font."""
        metrics = QFontMetricsF(self.font())
        grid = 1 if self.showGrid() else 0  # drawn inside a row's and a column's last pixel
        rows = self.verticalHeader()
        rows.setDefaultSectionSize(max(rows.minimumSectionSize(), math.ceil(metrics.height()) + grid))
        margins = 2 * (self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1)
        columns = self.horizontalHeader()
        font = self.font().key()
        for column, texts in enumerate(self.source.rows.column_samples()):
            measured = self._widths.get((font, texts))
            if measured is None:
                measured = self._widths[font, texts] = widest(texts, metrics.horizontalAdvance)
            width = math.ceil(measured) + margins + grid
            columns.resizeSection(column, max(width, columns.sectionSizeHint(column)))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.fit()


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
        self.proxy = ShownEvents(self.model)
        self._chosen: tuple[int, int] | None = None
        """The source row and the column of the cell chosen while the table is rearranged, to choose it again."""

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

        self.table = EventsTable(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        describe(self.table, "Events", "The pump's event log, newest first: time (pump clock), event, kind and "
                 "details; the selected event's details in full below the table.")
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)
        self.proxy.modelAboutToBeReset.connect(self._remember_choice)
        self.proxy.modelReset.connect(self._choose_again)

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
        """Show ``events``, read from the pump last given to ``set_pump``, every kind, nothing selected."""
        self.table.setCurrentIndex(QModelIndex())  # an event of the log shown before is not one of these
        self.proxy.kind = ALL_KINDS  # the shown rows are arranged once, as the new events arrive
        self.model.set_events(events)
        self.kind.blockSignals(True)
        self.kind.clear()
        self.kind.addItem("All kinds", ALL_KINDS)
        for kind in self.model.rows.kinds():
            self.kind.addItem(kind_name(kind), kind)
        self.kind.blockSignals(False)
        self.table.fit()
        self._count()
        self.details.setText(NO_SELECTION)
        self._enable_export()

    def _enable_export(self) -> None:
        """Saving needs events and the pump's serial (every row names the pump)."""
        self.export.setEnabled(self.model.rowCount() > 0 and self.serial is not None)

    def _filter(self) -> None:
        self.proxy.set_kind(self.kind.currentData() or ALL_KINDS)
        self._count()

    def _count(self) -> None:
        self.count.setText(f"{self.proxy.rowCount()} of {count(self.model.rowCount(), 'event')} shown.")

    def _remember_choice(self) -> None:
        current = self.table.currentIndex()
        self._chosen = (self.proxy.order[current.row()], current.column()) if current.isValid() else None

    def _choose_again(self) -> None:
        """After a sort or a filter: the event selected before stays selected, and in view, if it is shown;
        else nothing is, and the details pane says so."""
        row = None if self._chosen is None else self.proxy.row_of(self._chosen[0])
        if self._chosen is None or row is None:
            self._show_details(QModelIndex(), QModelIndex())
            return
        index = self.proxy.index(row, self._chosen[1])
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)

    def _show_details(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.details.setText(current.data(Qt.ItemDataRole.ToolTipRole) if current.isValid() else NO_SELECTION)

    def visible_rows(self) -> list[int]:
        """Source rows the filter shows, in the order shown."""
        return list(self.proxy.order)

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
        table = event_table(self.model.rows.described(rows), self.serial, computer_now())
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

"""The Audit page: the clinic store's audit trail as a table, filtered by patient, user, action and dates, with the
whole record of the row chosen, and whether the chain of hashes is intact.

Why a page and not only ``pump-programmer audit list``: the person at the programmer asks "what was done to this
patient's pump, and by whom" without a terminal. The query is the store's (``AuditTrail.query``, an indexed
SELECT), run when Show is pressed or the page opens; the check of the chain (``verify``) reads every record, so
it is run only when asked for. Both run in a thread of the page's own (``ui.background``), never on the GUI thread: a
shared store may be a server away, and a long trail takes a while to check.
"""

from __future__ import annotations

import json
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from ui.background import Background
from ui.view_models import audit_rows
from ui.widgets import ERROR, WrappedText, describe


class AuditPort(Protocol):
    """What the page needs of the store's audit trail (``clinic.audit_trail.AuditTrail``)."""

    def query(self, *, patient=None, username=None, action=None, session_id=None, since=None, until=None) -> list: ...

    def verify(self): ...


class AuditPage(QWidget):
    """The filters, the table and the selected record. ``set_trail`` gives it the store's trail."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.trail: AuditPort | None = None
        self.entries: list = []
        self.reads = Background(self, "audit trail")
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        form_left, form_right = QFormLayout(), QFormLayout()
        self.patient = self._field(form_left, "Patient", "The patient's identifier, exactly.")
        self.username = self._field(form_left, "User", "The user name of who did it, exactly.")
        self.action = self._field(form_left, "Action", "write, refill, bolus, prime, bridge, demand, ...")
        self.since = self._field(form_right, "From", "The first day, YYYY-MM-DD (this computer's clock).")
        self.until = self._field(form_right, "To", "The last day, YYYY-MM-DD, included.")
        filters.addLayout(form_left)
        filters.addLayout(form_right)
        buttons = QVBoxLayout()
        self.show_button = QPushButton("Show")
        self.show_button.clicked.connect(self.refresh)
        self.verify_button = QPushButton("Check the chain")
        self.verify_button.setToolTip("Read every record and check each one's hash against the one before it.")
        self.verify_button.clicked.connect(self.check_chain)
        buttons.addWidget(self.show_button)
        buttons.addWidget(self.verify_button)
        buttons.addStretch(1)
        filters.addLayout(buttons)
        layout.addLayout(filters)
        for field in (self.patient, self.username, self.action, self.since, self.until):
            field.returnPressed.connect(self.refresh)
        self.summary = WrappedText()
        self.summary.setAccessibleName("Audit summary")
        layout.addWidget(self.summary)
        self.chain = WrappedText()
        self.chain.setAccessibleName("Audit chain")
        layout.addWidget(self.chain)

        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, len(audit_rows.COLUMNS))
        self.table.setHorizontalHeaderLabels(audit_rows.COLUMNS)
        self.table.setAccessibleName("Audit records")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._show_record)
        self.record = QPlainTextEdit()
        self.record.setReadOnly(True)
        self.record.setAccessibleName("Audit record")
        split.addWidget(self.table)
        split.addWidget(self.record)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)

    def _field(self, form: QFormLayout, text: str, description: str) -> QLineEdit:
        field = QLineEdit()
        describe(field, f"Audit filter: {text}", description)
        label = QLabel(text)
        label.setBuddy(field)
        form.addRow(label, field)
        return field

    def set_trail(self, trail: AuditPort | None) -> None:
        self.trail = trail

    def filter_for(self, patient: str = "", username: str = "") -> None:
        """Put a patient and a user in the filters (the window does it for the visit's patient), then show."""
        self.patient.setText(patient)
        self.username.setText(username)
        self.refresh()

    def refresh(self) -> None:
        """Query the store with the filters typed; a filter typed wrong is said, and nothing is queried."""
        if self.trail is None:
            return
        wanted, problems = audit_rows.read_filter(self.patient.text(), self.username.text(), self.action.text(),
                                                  self.since.text(), self.until.text())
        if problems:
            self.summary.setStyleSheet(f"color: {ERROR};")
            self.summary.setText("Not shown: " + "; ".join(problems) + ".")
            return
        self.summary.setStyleSheet("")
        self.summary.setText("Reading the audit trail\u2026")
        self.show_button.setEnabled(False)
        trail = self.trail
        self.reads.run(lambda: trail.query(patient=wanted.patient, username=wanted.username, action=wanted.action,
                                           since=wanted.since, until=wanted.until), self._show_entries, self._failed)

    def _show_entries(self, entries) -> None:
        self.show_button.setEnabled(True)
        self.entries = list(entries)
        rows = audit_rows.rows(self.entries)
        self.entries.sort(key=lambda entry: entry.seq, reverse=True)
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.summary.setText(f"{len(rows)} record{'' if len(rows) == 1 else 's'}, newest first.")
        self.record.clear()

    def check_chain(self) -> None:
        if self.trail is None:
            return
        self.chain.setText("Checking every record\u2026")
        self.verify_button.setEnabled(False)
        self.reads.run(self.trail.verify, self._show_check, self._failed)

    def _show_check(self, check) -> None:
        self.verify_button.setEnabled(True)
        self.chain.setStyleSheet("" if check.intact else f"color: {ERROR}; font-weight: bold;")
        self.chain.setText(check.message)

    def _failed(self, error: Exception) -> None:
        self.show_button.setEnabled(True)
        self.verify_button.setEnabled(True)
        self.summary.setStyleSheet(f"color: {ERROR};")
        self.summary.setText(f"The audit trail could not be read: {error}")

    def _show_record(self) -> None:
        selected = self.table.selectionModel().selectedRows()
        if not selected:
            self.record.clear()
            return
        entry = self.entries[selected[0].row()]
        self.record.setPlainText(f"record {entry.seq}, hash {entry.hash}\n"
                                 + json.dumps(entry.record, indent=2, ensure_ascii=False))

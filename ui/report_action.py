"""Clinic > Print session report: the visit's report (``clinic.session_report``) saved as a PDF for the patient's
chart (``ui.report_pdf``), where the clinician chooses.

Why in a thread: the report reads the visit's records from the store and lays out an A4 page at 600 dpi twice (once
to count the pages), a few hundred milliseconds the GUI thread may not spend; QPdfWriter and QPainter draw off the
GUI thread. The file dialog is opened with ``open()``, without a nested event loop, so a test answers it as a person
does. The report's modules are imported on the GUI thread when a report is first saved (some 25 ms, once), not while
the window starts: never in the thread, as PySide6 creates its Python types lazily and two threads doing so at once
crash the process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from ui.background import Background

if TYPE_CHECKING:
    from ui.main_window import MainWindow

REPORT_TEXT = "Print session report\u2026"


def default_name(patient_identifier: str | None, session_id: str) -> str:
    """'session-TEST-0001-3f2a9c1d.pdf': whose, and which visit (its id's first eight digits)."""
    who = "".join(c if c.isalnum() or c in "-_" else "_" for c in patient_identifier or "no-patient")
    return f"session-{who}-{session_id[:8]}.pdf"


class ReportAction(QObject):
    """Asks where (``ask``), then writes the visit's report there (``save``); the banner says how it went."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.dialog: QFileDialog | None = None
        self.background = Background(self, "session report")
        self.background.done.connect(self._saved)
        self.background.failed.connect(self._failed)

    def ask(self) -> None:
        visit = self.window.clinic.visit
        if visit is None or self.background.busy:
            return
        patient = self.window.clinic.patient
        dialog = QFileDialog(self.window, "Save the session report as PDF", str(Path.home() / default_name(
            None if patient is None else patient.identifier, visit.session_id)), "PDF (*.pdf)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(lambda name: self.save(Path(name)))
        dialog.finished.connect(lambda _result: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()

    def save(self, path: Path) -> None:
        """Build the visit's report and write it to ``path``, in a thread; the banner says where, or why not."""
        visit, store = self.window.clinic.visit, self.window.clinic.store
        if visit is None or store is None or self.background.busy:
            return
        session_id, library = visit.session_id, self.window.library
        from clinic.session_report import build_session_report  # here, on the GUI thread: see the docstring
        from ui.report_pdf import write_report_pdf

        def write() -> Path:
            write_report_pdf(build_session_report(store, session_id, library), path)
            return path
        self.background.run(write)
        self.window.banner.show_message("info", "Writing the session report.", f"To {path}\u2026")

    def _saved(self, path: object) -> None:
        self.window.banner.show_message("ok", "Session report saved.", f"{path}: print it, or file it in the "
                                        "patient's chart.")

    def _failed(self, error: object) -> None:
        self.window.banner.show_message("error", "Session report NOT saved.", str(error))

    def wait(self) -> None:
        """Until a report being written is finished (the window is closing: the store closes after it)."""
        self.background.wait()

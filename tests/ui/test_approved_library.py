"""The application and only approved drug libraries (issue 10): the editor and the review name the library whose
limits apply with its approval date, signer and key, and the application will not start (so nothing can be
programmed) when its drug library is not approved, saying why in a dialog."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import ui.app
from programmer.library import load_library
from tests.support.library_data import shipped_data
from tests.support.library_signing import write_library
from tests.support.ui_fakes import program, snapshot
from ui.editor import ProgramEditor
from ui.review import ReviewPage


def site_library(tmp_path: Path, pharmacy) -> Path:
    data = shipped_data()
    data["name"], data["version"] = "Site library", "site-3"
    return write_library(tmp_path / "site.json", data, pharmacy)


def test_the_editor_and_the_review_name_the_library_with_its_approval(qtbot, tmp_path, pharmacy):
    library = load_library(site_library(tmp_path, pharmacy))
    approval = f"Site library site-3, approved 2026-11-30 by Test hospital pharmacy (key {pharmacy.key_id})"
    review = ReviewPage(library)
    qtbot.addWidget(review)
    assert review.library_line.text() == f"Limits from the drug library {approval}."
    editor = ProgramEditor(library)
    qtbot.addWidget(editor)
    editor.set_snapshot(snapshot(program({"mode": "simple_continuous", "daily_dose": 150.0})))
    assert editor.drug_label.text().endswith(f"Limits from the drug library {approval}.")


def test_the_application_does_not_start_on_a_library_that_is_not_approved(qtbot, tmp_path, pharmacy, monkeypatch):
    path = site_library(tmp_path, pharmacy)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["drugs"][0]["daily_dose"]["hard_max"] = 100000  # changed after it was signed
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    monkeypatch.setattr(ui.app, "load_library", lambda: load_library(path))
    seen: list[tuple[str, str, str]] = []

    def answer_the_dialog() -> None:
        [box] = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        seen.append((box.windowTitle(), box.text(), box.informativeText()))
        box.button(QMessageBox.StandardButton.Ok).click()

    QTimer.singleShot(0, answer_the_dialog)  # runs inside the dialog's own event loop
    assert ui.app.approved_library() is None
    [(title, text, details)] = seen
    assert title == "Drug library refused"
    assert text.startswith("The drug library cannot be used, so this programmer will not program a pump")
    assert details.startswith(f"{path}: changed since it was approved")
    assert details.endswith("(pump-programmer library verify names the problem).")
    assert ui.app.EXIT_LIBRARY_REFUSED == 2


def test_the_application_starts_on_the_shipped_library_approved():
    library = ui.app.approved_library()
    assert library is not None and library.approval is not None and library.approval.trusted_by == "shipped"

"""The application and only approved drug libraries (issue 10): the editor and the review name the library whose
limits apply with its approval date, signer and key, and the application will not program a pump when its drug
library is not approved: its window, shown before the library is checked (issue 11), stays locked, says why in a
dialog whose Ok ends the application (exit code 2), and nothing is sent to any pump."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

import ui.app
from programmer.library import load_library
from tests.support.emulator_fixtures import LOOPBACK_LINK
from tests.support.library_data import shipped_data
from tests.support.library_signing import write_library
from tests.support.ui_actions import LINK_TIMEOUT_MS, clinic_session
from tests.support.ui_fakes import program, snapshot
from ui.editor import ProgramEditor
from ui.main_window import MainWindow
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


def test_the_application_will_not_program_on_a_library_that_is_not_approved(qtbot, tmp_path, pharmacy):
    path = site_library(tmp_path, pharmacy)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["drugs"][0]["daily_dose"]["hard_max"] = 100000  # changed after it was signed
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    window = MainWindow(None, clinic_session(tmp_path), LOOPBACK_LINK, library_loader=lambda: load_library(path))
    qtbot.addWidget(window)
    window.library_refused.connect(lambda error: ui.app.refuse_library(window, error))  # as ui.app.run does
    with qtbot.waitSignal(window.library_refused, timeout=LINK_TIMEOUT_MS):
        window.show()  # checked once the window shows, in its library thread
    [box] = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert box.windowTitle() == "Drug library refused"
    assert box.text().startswith("The drug library cannot be used, so this programmer will not program a pump")
    assert box.informativeText().startswith(f"{path}: changed since it was approved")
    assert box.informativeText().endswith("(pump-programmer library verify names the problem).")
    # Locked, saying why; nobody may sign in, no page that checks doses exists, nothing was sent to any pump.
    controls = window.visit_controls
    assert window.stack.currentWidget() is controls.lock_page and not controls.sign_in_button.isEnabled()
    assert controls.lock_text.text().startswith("The drug library cannot be used")
    assert not any(window.built(name) for name in ("overview", "editor", "review", "bolus"))
    assert window.link.url is None and not window.link.busy
    assert str(window.library_error).startswith(f"{path}: changed since it was approved")  # run: exit code 2
    assert ui.app.EXIT_LIBRARY_REFUSED == 2
    box.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: not window.isVisible())  # its Ok ends the application


def test_the_application_starts_on_the_shipped_library_approved(qtbot, tmp_path):
    window = MainWindow(None, clinic_session(tmp_path), LOOPBACK_LINK)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.library_ready, timeout=LINK_TIMEOUT_MS):
        window.show()
    library = window.library
    assert library is not None and library.approval is not None and library.approval.trusted_by == "shipped"
    window.close()

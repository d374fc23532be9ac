"""What the GUI tests do with the application's window, as a clinician would: open it, connect, type a dose,
review, sign and write. Shared by the modules of tests/ui (the window itself is a fixture there, in
tests/ui/conftest.py, built by ``new_window``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from clinic.store import open_store
from programmer.library import load_library
from programmer.roles import User
from tests.support.clinic_fixtures import OSEI, PASSWORD, PATIENT_BORN, PATIENT_ID, clinic_db
from tests.support.emulator_fixtures import LOOPBACK_LINK
from ui.clinic_session import ClinicSession
from ui.main_window import PROGRAM_TAB, REVIEW_TAB, MainWindow
from ui.patient_match import TITLE
from ui.review import ReviewPage

FAST_FOLDER = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
"""Where the window's test store is made: in memory where there is a tmpfs, as SQLite's commits each wait for the
disk otherwise (some 14 ms each, five or so a window), times the six hundred windows of the GUI tests. It is
deleted with the window (``ClinicSession.end``); the audit journal stays in the test's ``tmp_path``."""
LINK_TIMEOUT_MS = 30_000
"""Bound for any wait on the link: the driver's own retries and timeouts end well inside it."""


def clinic_session(tmp_path: Path, user: User | None = OSEI, bound: bool = True) -> ClinicSession:
    """A fresh test store (``clinic_db``: the four users and patient TEST-0001; in ``FAST_FOLDER``) with ``user``
    signed in (by their password, as the dialog does; None: nobody, the window opens locked), its journal
    ``tmp_path/audit.jsonl``.
    ``bound``: a pump read that is not recorded yet becomes TEST-0001's implant without the question (as the demo
    binds its patient's); False asks "Which patient?"."""
    folder = tempfile.TemporaryDirectory(prefix="itb-test-store-", dir=FAST_FOLDER)
    store = open_store(clinic_db(Path(folder.name)))
    clinic = ClinicSession(store, tmp_path / "audit.jsonl", new_pumps_patient=PATIENT_ID if bound else None,
                           throwaway=folder)
    if user is not None:
        clinic.sign_in(store.users.authenticate(user.username, PASSWORD))
    return clinic


def new_window(qtbot, tmp_path: Path, user: User | None = OSEI, bound: bool = True,
               sign_out_ms: int | None = None) -> MainWindow:
    """The application's window, shown and active (focus and mnemonics behave as on a desktop), with ``user`` signed
    in and an unknown pump bound to the test patient (``clinic_session``). Its link has the loopback turnaround and
    backoff (``LOOPBACK_LINK``): a frame lost on purpose costs milliseconds, not seconds."""
    window = MainWindow(load_library(), clinic_session(tmp_path, user, bound), LOOPBACK_LINK, sign_out_ms)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    return window


def shown(qtbot, widget, size: tuple[int, int] | None = None):
    """Show a widget (at ``size``) as the active window: focus events, mnemonics and clicks then behave as on a
    desk."""
    qtbot.addWidget(widget)
    if size is not None:
        widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget, timeout=2000)
    return widget


def wait_for_plots(qtbot, window: MainWindow) -> None:
    """Until the window has built its plots, which it does a part at a time once shown (``MainWindow._build_plots``)."""
    qtbot.waitUntil(lambda: window.plots_ready, timeout=LINK_TIMEOUT_MS)


def connect(qtbot, window: MainWindow, url: str, confirm: bool = True) -> None:
    """Connect, and wait for the reading, for the drug library (a window made without one checks it once shown, and
    draws a reading that came first once it is approved), for the plots that draw it and for its patient from the
    clinic's record; with ``confirm``, answer "Confirm the patient" if it asks, as the clinician does
    (``confirm_patient``)."""
    window.connect_to(url)
    qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy and window.library_handed_over,
                    timeout=LINK_TIMEOUT_MS)
    wait_for_plots(qtbot, window)
    if confirm:
        wait_for_patient(qtbot, window)
    else:
        wait_for_record(qtbot, window)


def wait_for_patient(qtbot, window: MainWindow) -> None:
    """Until the pump read is matched to its patient in the clinic's record, who is then confirmed as the clinician
    does if the window asks (``confirm_patient``)."""
    wait_for_record(qtbot, window)
    if window.visit_controls.confirm_dialog is not None:
        confirm_patient(qtbot, window)


def confirm_patient(qtbot, window: MainWindow, born: str = PATIENT_BORN.isoformat()) -> None:
    """Answer the open "Confirm the patient" with the date of birth ``born`` (the test patient's unless given), as
    the patient gives it, and Confirm; wait until the answer is checked and recorded. The text is set at once, not
    typed key by key (the dialog's own tests type it)."""
    dialog = window.visit_controls.confirm_dialog
    assert dialog is not None, "the window asks to confirm the patient"
    dialog.born.setText(born)
    dialog.confirm_button.click()
    qtbot.waitUntil(lambda: window.visit_controls.confirm_dialog is None or dialog.idle, timeout=LINK_TIMEOUT_MS)
    identification = window.clinic.identification
    assert identification is not None and identification.confirmed, dialog.problem.text()
    wait_for_record(qtbot, window)


def wait_for_record(qtbot, window: MainWindow) -> None:
    """Until the window's calls to the clinic's store have answered (they run in its clinic thread)."""
    qtbot.waitUntil(lambda: window.visit_controls.ready, timeout=LINK_TIMEOUT_MS)


def type_daily_dose(qtbot, window: MainWindow, text: str) -> None:
    """On the Program tab, replace the daily dose by typing ``text`` key by key."""
    window.show_tab(PROGRAM_TAB)
    field = window.editor.daily_dose
    field.selectAll()
    qtbot.keyClicks(field, text)


def edit_the_dose(qtbot, window, text: str) -> None:
    window.show_tab(PROGRAM_TAB)
    window.editor.daily_dose.selectAll()
    qtbot.keyClicks(window.editor.daily_dose, text)
    qtbot.waitUntil(lambda: window.editor.evaluation is not None and window.editor.evaluation.entered == text,
                    timeout=LINK_TIMEOUT_MS)


def open_review(qtbot, window: MainWindow) -> ReviewPage:
    qtbot.mouseClick(window.editor.review_button, Qt.LeftButton)
    assert window.tabs.currentIndex() == REVIEW_TAB
    return window.review


def sign(qtbot, review: ReviewPage, clinician: str = "Dr A. Osei", reasons: list[str] | None = None) -> None:
    """Tick and type as a person does (a disabled control takes no click and no key)."""
    reasons = reasons or ["agreed in clinic"] * len(review._ack_widgets)
    for (check, field), reason in zip(review._ack_widgets, reasons, strict=True):
        check.click()
        qtbot.keyClicks(field, reason)
    qtbot.keyClicks(review.clinician, clinician)
    review.confirm.click()


def write_and_wait(qtbot, window: MainWindow) -> None:
    review = window.review
    assert review.write.isEnabled(), review.blockers.text()
    qtbot.mouseClick(review.write, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.link.busy and review.gate is None, timeout=LINK_TIMEOUT_MS)
    wait_for_record(qtbot, window)  # the dose history read again


def commit(window: MainWindow, clinician: str = "Dr A. Osei") -> None:
    window.editor.review_button.click()
    review = window.review
    for check, reason in review._ack_widgets:
        check.setChecked(True)
        reason.setText("agreed in clinic")
    review.clinician.setText(clinician)
    review.confirm.setChecked(True)
    assert review.write.isEnabled(), review.blockers.text()
    review.write.click()


def which_patient(qtbot, window: MainWindow):
    """The "Which patient?" dialog the window opened for the pump read, once it is open."""
    qtbot.waitUntil(lambda: window.visit_controls.patient_dialog is not None, timeout=LINK_TIMEOUT_MS)
    dialog = window.visit_controls.patient_dialog
    assert dialog is not None and dialog.windowTitle() == TITLE
    qtbot.waitUntil(lambda: dialog.idle, timeout=LINK_TIMEOUT_MS)  # its first search answered
    return dialog


def find_patient(qtbot, dialog, text: str) -> None:
    """Type ``text`` into the dialog's search, key by key, and wait until the latest search's answer is shown."""
    qtbot.keyClicks(dialog.search, text)
    qtbot.waitUntil(lambda: dialog.idle, timeout=LINK_TIMEOUT_MS)


def choose_and_wait(qtbot, window: MainWindow, button) -> None:
    """Click the dialog's ``button`` (this patient's pump, record the patient) and wait until the binding answered."""
    button.click()
    qtbot.waitUntil(lambda: window.visit_controls.patient_dialog is None, timeout=LINK_TIMEOUT_MS)

"""Uncaught exceptions (``ui.crash``): the traceback goes to the application log, one modal dialog says what
failed, where, and where the log is, and the window reads the pump again, unless a request is running,
which is left to finish. From a slot of a real signal, and from a plain thread."""

from __future__ import annotations

import sys
import threading

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.support.ui_actions import LINK_TIMEOUT_MS, commit, connect
from ui.app_log import log, start_logging
from ui.crash import describe, install_crash_handler
from ui.link import Commit
from ui.main_window import OVERVIEW_TAB, REVIEW_TAB, MainWindow


@pytest.fixture
def log_file(monkeypatch, tmp_path):
    """The application log as ``start_logging()`` makes it, in tmp_path; afterwards the logger is as it was
    (``start_logging`` adds its file handler once per process, so the handlers are set aside meanwhile)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    before = log.handlers[:], log.level, log.propagate
    for handler in before[0]:
        log.removeHandler(handler)
    path = start_logging()
    yield path
    for handler in log.handlers[:]:
        log.removeHandler(handler)
        handler.close()
    handlers, level, propagate = before
    for handler in handlers:
        log.addHandler(handler)
    log.setLevel(level)
    log.propagate = propagate


@pytest.fixture
def crashes(window, log_file):
    """The crash handler as the application installs it; a dialog still open at the end is closed."""
    reporter = install_crash_handler(lambda: window)
    yield reporter
    if reporter.dialog is not None:
        reporter.dialog.done(QMessageBox.Ok)
    reporter.uninstall()


def open_review(window: MainWindow) -> None:
    window.editor.daily_dose.setText("165")
    window.editor.daily_dose.textEdited.emit("165")
    window.editor.review_button.click()
    assert window.review.gate is not None and window.tabs.currentIndex() == REVIEW_TAB


def visible_message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def test_an_exception_in_a_slot_is_logged_shown_and_the_pump_read_again(qtbot, window, patient, crashes, log_file):
    connect(qtbot, window, patient.url)
    before = window.snapshot
    daily = window.overview.therapy.values["daily"]
    assert daily.text() == "150\u00a0mcg/day"
    open_review(window)

    def faulty_slot():
        daily.setText("999 mcg/day")  # the half-done update a bug leaves on the screen
        raise ZeroDivisionError("division by zero")

    window.review.back_requested.connect(faulty_slot)
    window.review.back.click()

    qtbot.waitUntil(lambda: crashes.dialog is not None)
    dialog = crashes.dialog
    text = dialog.text()
    assert "What failed: ZeroDivisionError: division by zero" in text
    assert "Where: in faulty_slot (tests/ui/test_crash.py:" in text
    assert f"The full report is in the log file:\n{log_file}" in text
    assert "read again from the pump" in text and "review that was open has been closed" in text
    assert "change being edited was discarded" in text and window.editor.daily_dose.text() == "150"
    assert dialog.icon() == QMessageBox.Critical and dialog.isModal() and visible_message_boxes() == [dialog]
    logged = log_file.read_text(encoding="utf-8")
    assert "ERROR uncaught exception: ZeroDivisionError: division by zero in faulty_slot" in logged
    assert "Traceback (most recent call last)" in logged and 'raise ZeroDivisionError("division by zero")' in logged

    qtbot.waitUntil(lambda: not window.link.busy and window.snapshot is not before, timeout=LINK_TIMEOUT_MS)
    assert daily.text() == "150\u00a0mcg/day"  # read from the pump again, not what the failed slot left
    assert window.snapshot.status.pump_time >= before.status.pump_time
    assert window.snapshot.active.checksum == before.active.checksum
    assert window.review.gate is None and not window.tabs.isTabEnabled(REVIEW_TAB)
    assert window.tabs.currentIndex() == OVERVIEW_TAB
    assert window.banner.title.text() == "An internal error happened."
    assert "read again from the pump" in window.banner.text.text()

    dialog.button(QMessageBox.Ok).click()
    qtbot.waitUntil(lambda: crashes.dialog is None)


def test_a_second_exception_while_the_dialog_is_open_is_only_logged(qtbot, window, crashes, log_file):
    calls = []

    def faulty_slot():
        calls.append(1)
        raise ValueError(f"failure number {len(calls)}")

    window.connect_page.refresh.clicked.connect(faulty_slot)
    window.connect_page.refresh.click()
    qtbot.waitUntil(lambda: crashes.dialog is not None)
    first = crashes.dialog
    assert "ValueError: failure number 1" in first.text() and "No pump is connected" in first.text()

    window.connect_page.refresh.click()
    qtbot.waitUntil(lambda: "not shown, the error dialog is already open" in log_file.read_text(encoding="utf-8"))
    assert crashes.dialog is first and visible_message_boxes() == [first]
    assert "failure number 1" in first.text() and "failure number 2" not in first.text()
    logged = log_file.read_text(encoding="utf-8")
    assert logged.count("Traceback (most recent call last)") == 2 and "ValueError: failure number 2" in logged

    first.button(QMessageBox.Ok).click()
    qtbot.waitUntil(lambda: crashes.dialog is None)
    window.connect_page.refresh.click()  # once it is closed, the next one is shown again
    qtbot.waitUntil(lambda: crashes.dialog is not None)
    assert "failure number 3" in crashes.dialog.text()


def test_an_exception_in_a_plain_thread_is_logged_and_reported_on_the_gui_thread(qtbot, window, crashes, log_file):
    def background_task():
        raise RuntimeError("the background task failed")

    thread = threading.Thread(target=background_task, name="background task")
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    qtbot.waitUntil(lambda: crashes.dialog is not None)
    dialog = crashes.dialog
    assert dialog.thread() is QApplication.instance().thread()  # built on the GUI thread
    assert "What failed: RuntimeError: the background task failed" in dialog.text()
    assert 'Where: in background_task (tests/ui/test_crash.py:' in dialog.text()
    assert 'in the thread "background task"' in dialog.text()
    logged = log_file.read_text(encoding="utf-8")
    assert 'uncaught exception in the thread "background task": RuntimeError' in logged
    assert "Traceback (most recent call last)" in logged


def test_a_running_write_is_left_alone_and_its_result_shown(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    window.editor.daily_dose.setText("165")
    window.editor.daily_dose.textEdited.emit("165")
    asked = window.editor.evaluation.program
    commit(window)
    assert isinstance(window.link.running, Commit)

    said = window.recover_after_error()
    assert said.startswith("The programmer is still writing the program: that is not interrupted")
    assert isinstance(window.link.running, Commit) and window.review.writing  # nothing reset, nothing re-read

    qtbot.waitUntil(lambda: not window.link.busy and window.review.gate is None, timeout=LINK_TIMEOUT_MS)
    assert window.banner.title.text() == "Written and verified."
    assert window.snapshot.active.checksum == asked.checksum()


def test_a_failed_recovery_is_said_in_the_dialog(qtbot, window, crashes, log_file, monkeypatch):
    def broken_recovery():
        raise AttributeError("no such widget")

    monkeypatch.setattr(window, "recover_after_error", broken_recovery)
    window.connect_page.refresh.clicked.connect(lambda: 1 / 0)
    window.connect_page.refresh.click()
    qtbot.waitUntil(lambda: crashes.dialog is not None)
    assert "ZeroDivisionError: division by zero" in crashes.dialog.text()
    assert "The screen could not be reset: close the programmer, start it again" in crashes.dialog.text()
    assert "AttributeError: no such widget" in log_file.read_text(encoding="utf-8")


def test_the_report_names_the_innermost_frame():
    def inner():
        raise KeyError("dose")

    try:
        inner()
    except KeyError as exc:
        failure = describe(KeyError, exc, exc.__traceback__, None)
    assert failure.what == "KeyError: 'dose'"
    assert failure.where.startswith("in inner (tests/ui/test_crash.py:")
    assert failure.details.startswith("Traceback (most recent call last)") and "raise KeyError" in failure.details
    assert describe(StopIteration, StopIteration(), None, "t").what == "StopIteration"
    assert describe(StopIteration, StopIteration(), None, "t").where == "(no traceback)"


def test_keyboard_interrupt_is_passed_on_not_reported_as_a_fault(qtbot, window, crashes, log_file, monkeypatch):
    passed_on = []
    monkeypatch.setattr(crashes, "_previous_sys_hook", lambda *exc_info: passed_on.append(exc_info[0]))
    sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    QApplication.processEvents()  # a report would have been queued by now
    assert passed_on == [KeyboardInterrupt] and crashes.dialog is None
    assert "uncaught" not in log_file.read_text(encoding="utf-8")

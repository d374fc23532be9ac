"""What becomes of an exception nobody caught: it is logged, shown in plain words, and the screen re-read.

Why: PySide6 hands an exception raised in a slot to ``sys.excepthook`` and carries on, and Python does
the same for a plain thread through ``threading.excepthook``. By default both print to stderr, which
nobody reads when the application was started from a desktop menu, and the window goes on showing
whatever the failed slot left half done. At a bedside a silent failure is the worst kind. So here:

- the full traceback goes to the application log (``ui.app_log``) at once, from whichever thread;
- a modal dialog says what failed, where, and where the log file is. It is built on the GUI thread (a
  queued signal carries the report there: no widget is touched from another thread), and only one is
  ever open (an exception while it is open is only logged);
- the window is asked to ``recover_after_error()``: it reads the pump again, unless a request is running
  (a write is never cut; its result still arrives and is shown).

The dialog is opened with ``show()``, modal to the application, not with ``exec()``: nothing waits on
the clinician's click, so a write's result that arrives meanwhile is still shown behind the dialog.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QMessageBox

from ui.app_log import log, log_path

if TYPE_CHECKING:
    from ui.main_window import MainWindow

SOURCE_ROOT = Path(__file__).resolve().parent.parent
"""Files under this are named relative to it in the dialog (``ui/editor.py:120``), as a developer reads them."""

TITLE = "ITB pump programmer: internal error"


@dataclass(frozen=True)
class Failure:
    """An uncaught exception as text, made on the thread where it happened: the traceback object keeps
    every frame alive and must not travel to the GUI thread."""

    what: str             # "ZeroDivisionError: division by zero"
    where: str            # "in explode (ui/editor.py:120)"
    thread: str | None    # None for the GUI thread
    details: str          # the full traceback


def describe(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
             thread: str | None) -> Failure:
    """The exception's type and message, and the innermost frame of its traceback: where it was raised."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the report itself
        message = "(its message could not be read)"
    what = f"{exc_type.__name__}: {message}" if message else exc_type.__name__
    frames = traceback.extract_tb(tb)
    where = f"in {frames[-1].name} ({_shown(frames[-1].filename)}:{frames[-1].lineno})" if frames else "(no traceback)"
    return Failure(what, where, thread, "".join(traceback.format_exception(exc_type, exc, tb)))


def _shown(filename: str) -> str:
    try:
        return Path(filename).resolve().relative_to(SOURCE_ROOT).as_posix()
    except ValueError:
        return filename


def _current_thread() -> str | None:
    """None on the GUI thread; else the thread's name (a QThread's object name, e.g. "pump link")."""
    if threading.current_thread() is threading.main_thread():
        return None
    return QThread.currentThread().objectName() or threading.current_thread().name


def message_text(failure: Failure, recovery: str, log_file: Path) -> str:
    """What the dialog says, in plain words (plain text: a function called ``<lambda>`` is not markup)."""
    where = failure.where if failure.thread is None else f'{failure.where}, in the thread "{failure.thread}"'
    if log_file.is_file():
        report = f"The full report is in the log file:\n{log_file}"
    else:
        report = f"The log file {log_file} could not be written: the full report is under Show Details."
    paragraphs = ("An internal error happened in the programmer (a fault in its software, not a message from "
                  "the pump).", f"What failed: {failure.what}\nWhere: {where}", recovery, report)
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


class CrashReporter(QObject):
    """Catches the exceptions nobody else did, between ``install()`` and ``uninstall()``.

    Made on the GUI thread. ``window_provider`` is asked for the main window when a report is shown (it
    may not exist yet when the hooks are installed). ``dialog`` is the open dialog, or None.
    """

    _caught = Signal(object)  # a Failure, from any thread

    def __init__(self, window_provider: Callable[[], MainWindow | None], parent: QObject | None = None):
        super().__init__(parent)
        self._window_provider = window_provider
        self.dialog: QMessageBox | None = None
        self._previous_sys_hook = sys.__excepthook__
        self._previous_thread_hook = threading.__excepthook__
        # Queued even from the GUI thread: the failed slot and its caller are over before anything is
        # shown or read again.
        self._caught.connect(self._report, Qt.ConnectionType.QueuedConnection)

    def install(self) -> CrashReporter:
        self._previous_sys_hook, self._previous_thread_hook = sys.excepthook, threading.excepthook
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous_sys_hook, self._previous_thread_hook

    def _sys_hook(self, exc_type, exc, tb) -> None:
        if not issubclass(exc_type, Exception):  # KeyboardInterrupt, SystemExit: a way to stop, not a fault
            self._previous_sys_hook(exc_type, exc, tb)
            return
        self._catch(exc_type, exc, tb, _current_thread())

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if not issubclass(args.exc_type, Exception):
            self._previous_thread_hook(args)
            return
        self._catch(args.exc_type, args.exc_value, args.exc_traceback,
                    args.thread.name if args.thread is not None else "(a finished thread)")

    def _catch(self, exc_type, exc, tb, thread: str | None) -> None:
        failure = describe(exc_type, exc, tb, thread)
        log.error("uncaught exception%s: %s %s", "" if thread is None else f' in the thread "{thread}"',
                  failure.what, failure.where, exc_info=(exc_type, exc, tb))
        self._caught.emit(failure)

    def _report(self, failure: Failure) -> None:
        if self.dialog is not None:
            log.warning("not shown, the error dialog is already open: %s %s", failure.what, failure.where)
            return
        try:
            self.dialog = self._show(failure)
        except Exception:  # noqa: BLE001 - through the hook, a failure here would report itself for ever
            log.exception("the error dialog could not be shown")

    def _show(self, failure: Failure) -> QMessageBox:
        window = self._window_provider()
        recovery = self._recover(window)
        box = QMessageBox(QMessageBox.Icon.Critical, TITLE, "", QMessageBox.StandardButton.Ok, window)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(message_text(failure, recovery, log_path()))
        box.setDetailedText(failure.details)
        box.setWindowModality(Qt.WindowModality.ApplicationModal)
        box.finished.connect(self._closed)
        box.show()
        return box

    def _recover(self, window: MainWindow | None) -> str:
        if window is None:
            return ""
        try:
            return window.recover_after_error()
        except Exception:  # noqa: BLE001 - the dialog must still be shown
            log.exception("the window could not recover from the error")
            return ("The screen could not be reset: close the programmer, start it again and interrogate the "
                    "pump before relying on anything shown.")

    def _closed(self) -> None:
        assert self.dialog is not None, "only the dialog _report keeps is connected here"
        self.dialog.deleteLater()
        self.dialog = None


def install_crash_handler(window_provider: Callable[[], MainWindow | None]) -> CrashReporter:
    """Report every uncaught exception from now on (call on the GUI thread, once the QApplication exists)."""
    return CrashReporter(window_provider).install()

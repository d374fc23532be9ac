"""Start the application: ``pump-programmer`` (no subcommand) and ``pump-programmer --demo`` end here.

Why neither the drug library nor the store is opened here: the library's check imports pydantic and the domain's
models, and opening the store imports SQLAlchemy, checks the schema and may wait for a server, and the demo's throwaway
record hashes two passwords; together most of a second. So the window shows first, locked and saying "Checking the
drug library", checks the library in a thread once its Program page's plots are built (``MainWindow``), then opens
the record in its clinic thread (``ui.visit_controls``). A library or a store that cannot be used is said in a dialog,
and the application ends with the exit code of invalid input, nothing sent to any pump: the demo's emulator is started
only once the library is approved, and nobody can sign in before the record is open.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from programmer.audit import default_audit_path
from ui import gui_thread_gc, settings
from ui.app_log import log, start_logging
from ui.clinic_session import ClinicSession, Opener
from ui.crash import install_crash_handler
from ui.demo_clinic import demo_clinic
from ui.desktop_entry import APP_ID, ICON_FILE
from ui.link import StartEmulator
from ui.main_window import MainWindow
from ui.quit_signals import QuitOnSignals
from ui.widgets import STYLE_SHEET

if TYPE_CHECKING:
    from programmer.library import LoadedLibrary


EXIT_LIBRARY_REFUSED = 2
"""The exit code when the application ends because its drug library (or its clinic record) cannot be used: invalid
input, as ``pump-programmer`` says it (nothing was sent to any pump)."""
LIBRARY_REFUSED_TITLE = "Drug library refused"
LIBRARY_REFUSED_TEXT = ("The drug library cannot be used, so this programmer will not program a pump: every dose "
                        "is checked against an approved library, and this one is not approved as it stands.")
LIBRARY_REFUSED_HELP = ("Reinstall the programmer, or ask who maintains it to sign the library again "
                        "(pump-programmer library verify names the problem).")
STORE_REFUSED_TITLE = "Clinic record not opened"
STORE_REFUSED_TEXT = ("The clinic's record (patients, users and the audit trail) cannot be opened, so this "
                      "programmer will not program a pump: every change is tied to a signed-in user and a patient.")


def create_window(demo: bool = False, audit_path: Path | None = None,
                  library: LoadedLibrary | None = None, allow_insecure_link: bool = False,
                  clinic: ClinicSession | None = None, db_url: str | None = None,
                  library_loader: Callable[[], LoadedLibrary] | None = None) -> MainWindow:
    """The main window, shown; with ``demo`` it starts the bundled emulator and connects once the drug library is
    approved, on a throwaway clinic record with a demo clinician signed in (``ui.demo_clinic``). ``library``: the
    approved library, else the window loads and checks it once shown, with ``library_loader`` (default: the shipped
    one): ``library_refused`` of the window says when it cannot be used. ``allow_insecure_link``: changes may be
    sent to a pump that speaks the insecure protocol version 1 (``--allow-insecure-link``; without it they are
    refused, and the window's red strip says so). ``clinic``: the store and who is signed in (default: the demo's,
    or the store at ``db_url``, else ``$ITB_DB``, else the user's own, with nobody signed in: the window opens
    behind the sign-in dialog). The store is opened once the window shows, in its clinic thread: ``record_failed`` of
    ``window.visit_controls`` says when it cannot be."""
    QApplication.setWindowIcon(QIcon(str(ICON_FILE)))  # every window's and dialog's, the crash report's too
    options = {"allow_insecure_link": True} if allow_insecure_link else None
    if clinic is None:
        clinic = demo_clinic(audit_path) if demo else clinic_to_open(db_url, audit_path)
    window = MainWindow(library, clinic, options, library_loader=library_loader)
    settings.restore_geometry(window, QSize(1280, 860))
    if demo:
        window.library_ready.connect(lambda: window.link.request(StartEmulator()))
    window.show()
    return window


def run(demo: bool = False, allow_insecure_link: bool = False, db_url: str | None = None) -> int:
    """The application's whole life: 0 when it was quit, by the Quit action, closing the window or a
    SIGTERM, SIGINT (Ctrl+C) or SIGHUP, each of which closes the window the same way. ``allow_insecure_link``:
    ``pump-programmer --allow-insecure-link`` (``create_window``); ``db_url``: ``--db``."""
    start_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication), "the process's application is a QApplication: the window needs widgets"
    app.setStyleSheet(STYLE_SHEET)  # the focus ring and the validation marks, one place for every screen
    app.setApplicationName("ITB pump programmer")
    app.setDesktopFileName(APP_ID)  # how Wayland and KDE match the window to its menu entry and icon

    def quit_on(signal_name: str) -> None:  # runs in the event loop, so only once the window exists
        log.info("%s received: quitting as the Quit action does", signal_name)
        window.close()  # not Quit: nobody is there to answer its question about an unwritten change
        app.quit()

    clinic = demo_clinic() if demo else clinic_to_open(db_url)
    signals = QuitOnSignals(quit_on)  # before the emulator starts: no signal may find it unhandled
    crashes = install_crash_handler(lambda: window)
    window = create_window(demo, allow_insecure_link=allow_insecure_link, clinic=clinic)
    window.library_refused.connect(lambda error: refuse_library(window, error))
    window.visit_controls.record_failed.connect(lambda error: refuse_store(window, error))
    log.info("started (pid %d%s%s)", os.getpid(), ", demo" if demo else "",
             ", insecure links allowed to change pumps" if allow_insecure_link else "")
    gui_thread_gc.keep_start_up()  # the modules and the window, out of every full collection's walk
    window.pages_built.connect(gui_thread_gc.keep_start_up)  # again once the domain and the pages are loaded
    code = app.exec()
    if window.library_error is not None or window.visit_controls.record_error is not None:
        code = EXIT_LIBRARY_REFUSED  # the dialog said why (refuse_library, refuse_store); closing it closed the window
    signals.restore()
    crashes.uninstall()
    del window
    log.info("stopped (exit code %d)", code)
    return code


def clinic_to_open(db_url: str | None, audit_path: Path | None = None) -> ClinicSession:
    """The clinic's store (``--db``, else ``$ITB_DB``, else the user's own), opened by the window once it shows, nobody
    signed in yet."""
    return ClinicSession(None, audit_path or default_audit_path(), opener=store_opener(db_url))


def store_opener(db_url: str | None) -> Opener:
    def opener():
        from clinic.store import open_store  # in the clinic thread: SQLAlchemy is imported there

        return open_store(db_url), None
    return opener


def refuse_store(window: MainWindow, error: Exception) -> None:
    """The store cannot be opened: a dialog says why, and its Ok ends the application with the exit code of invalid
    input, as for the library (``run``: nothing was sent to any pump, as nobody could sign in)."""
    box = QMessageBox(QMessageBox.Icon.Critical, STORE_REFUSED_TITLE, STORE_REFUSED_TEXT, QMessageBox.StandardButton.Ok,
                      window)
    box.setInformativeText(str(error))
    box.finished.connect(lambda _result: window.close())  # the last window: the event loop ends
    box.open()


def refuse_library(window: MainWindow, error: Exception) -> None:
    """The drug library cannot be used (unsigned, changed, untrusted or invalid: never used, so there is nothing to
    program with): a dialog says why, and its Ok ends the application with the exit code of invalid input (``run``)."""
    box = QMessageBox(QMessageBox.Icon.Critical, LIBRARY_REFUSED_TITLE, LIBRARY_REFUSED_TEXT,
                      QMessageBox.StandardButton.Ok, window)
    box.setInformativeText(f"{error}\n\n{LIBRARY_REFUSED_HELP}")
    box.finished.connect(lambda _result: window.close())  # the last window: the event loop ends
    box.open()

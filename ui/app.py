"""Start the application: ``pump-programmer`` (no subcommand) and ``pump-programmer --demo`` end here."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from programmer.audit import default_audit_path
from programmer.library import load_library
from ui.link import START_EMULATOR
from ui.main_window import MainWindow


def create_window(demo: bool = False, audit_path: Path | None = None) -> MainWindow:
    """The main window, shown; with ``demo`` it starts the bundled emulator and connects at once."""
    window = MainWindow(load_library(), audit_path or default_audit_path())
    window.resize(1280, 860)
    window.show()
    if demo:
        window.link.request(START_EMULATOR)
    return window


def run(demo: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ITB pump programmer")
    window = create_window(demo)
    code = app.exec()
    del window
    return code

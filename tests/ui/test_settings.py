"""What the application remembers between runs (``ui.settings``): the window's geometry, the Program page's
splitter and the last port that worked come back at the next start; anything missing or corrupt gives the
defaults, silently. Each test keeps its settings file in its own tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings, QSize, Qt

from tests.support.ui_fakes import snapshot
from tests.support.ui_actions import LINK_TIMEOUT_MS, clinic_session, wait_for_plots
from tests.support.emulator_fixtures import unused_loopback_port
from ui import settings
from ui.app import create_window
from ui.connect import EMULATOR
from ui.emulator import set_up_demo_patient
from ui.main_window import PROGRAM_TAB, MainWindow

DEFAULT_SIZE = QSize(1280, 860)


@pytest.fixture
def settings_file(tmp_path, user_dirs):
    """The settings file, in this test's tmp_path; afterwards QSettings points where conftest put it."""
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path))
    path = Path(settings.store().fileName())
    assert path.is_relative_to(tmp_path)
    yield path
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(user_dirs / "config"))


@pytest.fixture
def open_window(qtbot, tmp_path):
    """Opens windows as the application does (``create_window``) and closes any still open at the end."""
    windows = []

    def open_() -> MainWindow:
        window = create_window(clinic=clinic_session(tmp_path))
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield open_
    for window in windows:
        window.close()


def show_program_page(qtbot, window: MainWindow) -> None:
    """As after the first interrogation: the preview exists, then the Program page is shown."""
    wait_for_plots(qtbot, window)
    window._show_snapshot(snapshot())
    window.show_tab(PROGRAM_TAB)
    qtbot.waitUntil(lambda: window.program_split.isVisible() and window.preview.isVisible())


def test_a_window_reopens_with_its_geometry_and_program_split(qtbot, settings_file, open_window):
    first = open_window()
    assert first.size() == DEFAULT_SIZE  # a first run: no settings yet
    first.resize(1000, 700)  # inside the tests' offscreen screen (1366 x 900): a restored window is kept on it
    qtbot.waitUntil(lambda: first.size() == QSize(1000, 700))
    show_program_page(qtbot, first)
    total = sum(first.program_split.sizes())
    first.program_split.setSizes([total // 3, total - total // 3])
    split = first.program_split.sizes()
    first.close()
    assert settings_file.is_file()

    second = open_window()
    assert second.size() == QSize(1000, 700)
    show_program_page(qtbot, second)
    qtbot.waitUntil(lambda: second.program_split.sizes() == split)


def test_the_split_is_kept_when_the_window_closes_before_any_pump_was_read(qtbot, settings_file, open_window):
    first = open_window()
    first.resize(1000, 700)
    show_program_page(qtbot, first)
    total = sum(first.program_split.sizes())
    first.program_split.setSizes([total // 4, total - total // 4])
    split = first.program_split.sizes()
    first.close()

    open_window().close()  # closed before its plots were built: the splitter holds the editor only, and is not saved

    third = open_window()
    show_program_page(qtbot, third)
    qtbot.waitUntil(lambda: third.program_split.sizes() == split)


@pytest.fixture
def patient(start_emulator):
    emulator = start_emulator("--service")
    set_up_demo_patient(emulator.url)
    return emulator


def connect_from_the_page(qtbot, window: MainWindow) -> None:
    window.connect_page.connect_button.click()
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)


def test_the_last_port_that_worked_is_tried_first_at_the_next_start(qtbot, settings_file, open_window, patient):
    first = open_window()
    assert first.connect_page.url.text() == ""  # a first run: the bundled emulator is chosen
    first.connect_page.url.setText(patient.url)
    connect_from_the_page(qtbot, first)
    assert first.connected
    first.close()

    second = open_window()
    assert second.connect_page.url.text() == patient.url
    second.connect_page.url.setText(f"socket://127.0.0.1:{unused_loopback_port()}")  # this one fails
    connect_from_the_page(qtbot, second)
    assert not second.connected
    second.close()

    third = open_window()
    assert third.connect_page.url.text() == patient.url  # a port that failed is not remembered
    connect_from_the_page(qtbot, third)  # Connect tries it first
    assert third.connected and third.link.url == patient.url


def test_the_bundled_emulator_is_remembered_as_a_choice_not_as_its_port(qtbot, settings_file, open_window):
    settings.remember_port("socket://127.0.0.1:7001")
    first = open_window()
    page = first.connect_page
    assert page.url.text() == "socket://127.0.0.1:7001"
    assert page.ports.currentItem() is None
    page.ports.setCurrentRow(0)  # the clinician picks the bundled emulator
    assert page.ports.currentItem().data(Qt.UserRole) == EMULATOR and page.url.text() == ""
    connect_from_the_page(qtbot, first)
    assert first.connected and first.link.url.startswith("socket://127.0.0.1:")
    first.close()

    assert settings.last_port() == EMULATOR  # its port changes at every start
    second = open_window()
    assert second.connect_page.url.text() == "" and second.connect_page.ports.currentRow() == 0


def test_a_remembered_serial_port_is_selected_in_the_list(qtbot, settings_file, monkeypatch, open_window):
    monkeypatch.setattr("ui.connect.discovered_ports", lambda: [("/dev/ttyUSB0", "telemetry head"),
                                                                ("/dev/ttyUSB1", "telemetry head")])
    settings.remember_port("/dev/ttyUSB1")
    page = open_window().connect_page
    assert page.ports.currentItem().text() == "/dev/ttyUSB1: telemetry head"
    assert page.url.text() == "/dev/ttyUSB1"


@pytest.mark.parametrize("value", ["not a geometry", 42, ["a", "b"], QByteArray(b"\x01\xd9\xd0\xcb junk")])
def test_a_corrupt_geometry_or_split_gives_the_defaults(qtbot, settings_file, open_window, value):
    store = settings.store()
    store.setValue(settings.GEOMETRY, value)
    store.setValue(settings.PROGRAM_SPLIT, value)
    store.sync()
    window = open_window()
    assert window.size() == DEFAULT_SIZE
    show_program_page(qtbot, window)
    editor, preview = window.program_split.sizes()
    assert editor > 0 and preview > 0  # the default split: both panes shown


@pytest.mark.parametrize("value", [["a", "b"], "   ", "socket://127.0.0.1:7001\n--yes", QByteArray(b"/dev/ttyUSB0")])
def test_a_corrupt_last_port_gives_the_default_choice(settings_file, open_window, value):
    store = settings.store()
    store.setValue(settings.LAST_PORT, value)
    store.sync()
    assert settings.last_port() is None
    page = open_window().connect_page
    assert page.url.text() == "" and page.ports.currentItem().data(Qt.UserRole) == EMULATOR


def test_a_settings_file_that_is_not_a_settings_file_gives_the_defaults(qtbot, settings_file, open_window):
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_bytes(b"\x00\xff\xfe[window\ngeometry=@ByteArray(\\x1\ngarbage\x00\n[connect\nlast_port")
    window = open_window()
    assert window.size() == DEFAULT_SIZE and window.connect_page.url.text() == ""


@pytest.mark.parametrize("value, minutes", [(None, 10), ("2.5", 2.5), ("60", 60), ("0", 10), ("61", 10),
                                            ("nan", 10), ("ten", 10)])
def test_the_sign_out_wait_is_the_setting_when_it_is_from_above_0_to_60_minutes(settings_file, value, minutes):
    if value is not None:
        settings_file.parent.mkdir(parents=True, exist_ok=True)
        settings_file.write_text(f"[session]\nsign_out_after_minutes={value}\n", encoding="utf-8")
    assert settings.sign_out_minutes() == minutes

"""What the application remembers between runs: the last port that worked, the window's geometry and the
Program page's splitter, and one setting a clinic may change: how long the window waits without input before it
signs out (``sign_out_minutes``). Nothing else: no pump data, no clinician, no doses (those live on the pump and in
the audit log, never in a preferences file).

Why an INI file and not the platform's native store: it is one readable file on every platform
(``$XDG_CONFIG_HOME/itb-programmer/itb-programmer.ini`` on Linux), and ``QSettings.setPath`` moves it
anywhere, so tests can keep away from the real user's settings on every platform.

Every value is checked on the way in. A missing, mistyped or corrupt value is the same as no value: the
window opens at its default size with the bundled emulator chosen. A preference can never stop the
application from starting or from reaching a pump.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize
from PySide6.QtWidgets import QSplitter, QWidget

from ui.app_log import log

ORGANISATION = APPLICATION = "itb-programmer"
LAST_PORT = "connect/last_port"
GEOMETRY = "window/geometry"
PROGRAM_SPLIT = "window/program_split"
SIGN_OUT_MINUTES = "session/sign_out_after_minutes"
DEFAULT_SIGN_OUT_MINUTES = 10
MAX_SIGN_OUT_MINUTES = 60
"""A longer wait leaves a bedside programmer open in someone's name for too long: a larger value is not taken."""


def store() -> QSettings:
    """The application's settings file (read afresh each time: cheap, and never stale)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def last_port() -> str | None:
    """The Connect page's choice that last led to a pump (``ui.connect.EMULATOR`` or a port/URL)."""
    value = store().value(LAST_PORT)
    if isinstance(value, str) and value.strip() and value.isprintable():
        return value.strip()
    return None


def sign_out_minutes() -> float:
    """Minutes without input before the window signs out: the setting when it is a number from above 0 to
    ``MAX_SIGN_OUT_MINUTES``, else ``DEFAULT_SIGN_OUT_MINUTES``."""
    value = store().value(SIGN_OUT_MINUTES)
    try:
        minutes = float(value) if isinstance(value, (str, int, float)) else DEFAULT_SIGN_OUT_MINUTES
    except ValueError:
        return DEFAULT_SIGN_OUT_MINUTES
    if not 0 < minutes <= MAX_SIGN_OUT_MINUTES:
        log.warning("setting %s=%r ignored: not above 0 and at most %d minutes", SIGN_OUT_MINUTES, value,
                    MAX_SIGN_OUT_MINUTES)
        return DEFAULT_SIGN_OUT_MINUTES
    return minutes


def remember_port(choice: str) -> None:
    """Kept as soon as a connection works, not at close: a crash afterwards must not lose it."""
    _write({LAST_PORT: choice})


def restore_geometry(window: QWidget, default: QSize) -> None:
    """The size and place the window had when it was last closed, else ``default``."""
    value = store().value(GEOMETRY)
    if not (isinstance(value, QByteArray) and window.restoreGeometry(value)):
        window.resize(default)


def save_window(window: QWidget, program_split: QSplitter | None) -> None:
    """At close: the geometry, and the splitter only once it holds both of its widgets (saved before the
    preview exists, it would overwrite the clinician's split with a one-widget one)."""
    values = {GEOMETRY: window.saveGeometry()}
    if program_split is not None and program_split.count() > 1:
        values[PROGRAM_SPLIT] = program_split.saveState()
    _write(values)


def restore_split(splitter: QSplitter) -> bool:
    """Put the splitter back where it was, once it has its real width; False when no split is remembered.

    Why wait: a splitter on a page not yet shown still has its default size, and sizes restored then are
    stretched by the later resize; restored at its first showing, it is exactly as it was left.
    """
    value = store().value(PROGRAM_SPLIT)
    if not isinstance(value, QByteArray):
        return False
    if splitter.isVisible():
        splitter.restoreState(value)
    else:
        _RestoreWhenShown(splitter, value)
    return True


class _RestoreWhenShown(QObject):
    """Restores a splitter's state at its first Show event, then goes away."""

    def __init__(self, splitter: QSplitter, state: QByteArray):
        super().__init__(splitter)
        self._state = state
        splitter.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            assert isinstance(watched, QSplitter), "installed on its splitter only"
            watched.removeEventFilter(self)
            watched.restoreState(self._state)
            self.deleteLater()
        return False


def _write(values: dict) -> None:
    settings = store()
    for key, value in values.items():
        settings.setValue(key, value)
    settings.sync()
    if settings.status() != QSettings.Status.NoError:
        log.warning("settings could not be saved to %s (%s)", settings.fileName(), settings.status().name)

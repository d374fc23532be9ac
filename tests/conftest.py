"""Shared test setup: Qt runs offscreen in every test session, set here so no one has to remember."""

import os

import pytest
from hypothesis import settings

# A 1366x900 screen, the size of a common clinic laptop, instead of the plugin's default 800x600: the
# window's minimum (about 610x630) must fit on it, or a restored geometry is squeezed.
SCREEN = os.path.join(os.path.dirname(__file__), "support", "offscreen-screen.json")
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={SCREEN}")

# CI runs the same examples every time (a red build is then reproducible); locally hypothesis explores.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def user_dirs(tmp_path_factory):
    """No test touches the real user's files: settings, the application log, desktop entries and the
    default audit log all go under one directory of this session (child processes inherit it too)."""
    home = tmp_path_factory.mktemp("user")
    with pytest.MonkeyPatch.context() as patch:
        for kind in ("config", "state", "data"):
            patch.setenv(f"XDG_{kind.upper()}_HOME", str(home / kind))
        from PySide6.QtCore import QSettings

        for format_ in (QSettings.IniFormat, QSettings.NativeFormat):
            QSettings.setPath(format_, QSettings.UserScope, str(home / "config"))
        yield home


@pytest.fixture(autouse=True)
def no_remembered_settings(user_dirs):
    """Each test starts as on a first run: a window closed by one test must not size the next one's."""
    from ui.settings import store

    store().clear()

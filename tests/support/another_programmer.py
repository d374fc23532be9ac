"""The pump as another programmer sees it, while the application's window is connected to it.

A pump takes one programmer at a time: while the window's session is alive, another connection's HELLO is
refused (SESSION_IN_USE). So a test that checks the pump itself, or changes it as someone else would, first
disconnects the window (Pump > Disconnect, which ends its session), and afterwards reconnects it, as a
clinician handing the pump to a colleague and taking it back would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from programmer.port import PumpDriver, open_driver
from tests.support.ui_actions import LINK_TIMEOUT_MS
from ui.main_window import MainWindow


@contextmanager
def another_programmer(qtbot, window: MainWindow, url: str, reconnect: bool = True) -> Iterator[PumpDriver]:
    """A driver of the run's own programmer on ``url`` while ``window`` is disconnected; with ``reconnect`` the
    window connects again afterwards (its reading then shows what the other programmer did)."""
    window.disconnect_pump()
    qtbot.waitUntil(lambda: not window.connected and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    with open_driver(url) as driver:
        yield driver
    if reconnect:
        before = window.snapshot
        window.reconnect()
        qtbot.waitUntil(lambda: window.connected and window.snapshot is not before and not window.link.busy,
                        timeout=LINK_TIMEOUT_MS)

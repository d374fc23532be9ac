"""The pump link for the GUI: one driver, owned by one worker thread, talked to only through signals.

Why one long-lived worker and not a thread per call: a pump link is one conversation (sequence numbers,
a session opened with HELLO), so exactly one thread may use the driver, and requests are served one at a
time in the order they were made. The GUI thread never calls the driver and never waits: it asks with
``request(...)`` and hears back through ``progress``, ``finished`` and ``failed``.

The work itself is ``programmer``'s: ``read_pump`` interrogates, ``commit_write`` checks, audits, writes
two-phase and judges the read-back. This module only adds progress reporting and the thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from programmer.audit import AuditError, AuditLog
from programmer.errors import InputError
from programmer.interrogation import PumpSnapshot, computer_now, read_pump
from programmer.port import LinkError, PumpDriver, PumpEvent, PumpRefused, open_driver
from programmer.session import SessionResult, WriteReview, commit_write
from ui.app_log import log
from ui.emulator import BundledEmulator, set_up_demo_patient

CONNECT, START_EMULATOR, INTERROGATE, EVENTS, COMMIT, SET_CLOCK, DISCONNECT = (
    "connect", "start_emulator", "interrogate", "events", "commit", "set_clock", "disconnect")
CONNECTING = {CONNECT, START_EMULATOR}

DOING = {
    START_EMULATOR: "starting the bundled emulator",
    CONNECT: "connecting and interrogating",
    INTERROGATE: "interrogating",
    EVENTS: "reading the event log",
    COMMIT: "writing the program",
    SET_CLOCK: "setting the pump clock",
    DISCONNECT: "disconnecting",
}
CANCELLABLE = {CONNECT, INTERROGATE, EVENTS}
"""Only reads may be cancelled: stopping a write half way is exactly what the two-phase write avoids."""

READ_STEPS = {
    "identify": "reading the pump's identity and limits",
    "read_status": "reading clock, battery, reservoir and alarms",
    "read_program": "reading the active program",
    "read_event_page": "reading the last 24 h of the event log",
}


class NotConnected(Exception):
    """A request that needs the pump came while no link was open: nothing was sent."""


class Cancelled(Exception):
    """The clinician cancelled a read; nothing on the pump was changed."""


@dataclass(frozen=True)
class CommitDone:
    """A write's result, and the pump as interrogated right after it (None if that read failed)."""

    result: SessionResult
    snapshot: PumpSnapshot | None
    refresh_error: str | None


class _Reporting:
    """Stands in for the driver inside ``read_pump`` and ``commit_write``: announces each read as a step
    of the progress bar and hands ``write_program`` a progress callback (those functions take none)."""

    def __init__(self, driver: PumpDriver, report: Callable[[str, float], None]):
        self._driver = driver
        self._report = report
        self._started: set[str] = set()

    def __getattr__(self, name: str):
        if name in READ_STEPS and name not in self._started:  # a step may take several calls (event pages)
            self._report(READ_STEPS[name], len(self._started) / len(READ_STEPS))
            self._started.add(name)
        return getattr(self._driver, name)

    def write_program(self, program, progress=None):
        return self._driver.write_program(program, self._report)


class _Worker(QObject):
    opened = Signal(str)                      # the URL of a link just opened
    progress = Signal(str, str, float)        # operation, step, fraction done
    finished = Signal(str, object)            # operation, result
    failed = Signal(str, str, bool)           # operation, message, link lost

    def __init__(self, audit_path: Path, driver_options: dict):
        super().__init__()
        self.audit_path = audit_path
        self.driver_options = driver_options
        self.driver: PumpDriver | None = None
        self.emulator: BundledEmulator | None = None
        self.cancel = threading.Event()

    @Slot(str, object)
    def run(self, operation: str, argument: object) -> None:
        self.cancel.clear()
        try:
            result = getattr(self, "_" + operation)(argument)
        except Cancelled:
            self.failed.emit(operation, "cancelled: nothing on the pump was changed", False)
        except NotConnected:
            self.failed.emit(operation, "not connected to a pump: nothing was sent (reconnect first)", False)
        except (LinkError, OSError) as exc:  # serial.SerialException is an OSError
            self._close()
            self.failed.emit(operation, str(exc) or type(exc).__name__, True)
        except (PumpRefused, AuditError, InputError) as exc:
            self.failed.emit(operation, str(exc), False)
        except Exception as exc:  # a bug must reach the screen, not vanish in a thread
            log.exception("unexpected error while %s", DOING[operation])
            self.failed.emit(operation, f"unexpected error ({type(exc).__name__}: {exc})", False)
        else:
            self.finished.emit(operation, result)

    def _reporter(self, operation: str) -> Callable[[str, float], None]:
        def report(step: str, fraction: float) -> None:
            if operation in CANCELLABLE and self.cancel.is_set():
                raise Cancelled()
            self.progress.emit(operation, step, fraction)
        return report

    def _connect(self, url: str, operation: str = CONNECT) -> PumpSnapshot:
        self._close()
        self._reporter(operation)(f"opening {url}", 0.0)
        self.driver = open_driver(url, **self.driver_options)
        self.opened.emit(url)
        return self._interrogate(None, operation)

    def _start_emulator(self, _argument: object) -> PumpSnapshot:
        """Start the bundled emulator once (a factory-new pump given the demo patient), then connect."""
        report = self._reporter(START_EMULATOR)
        if self.emulator is None or self.emulator.process is None:
            report("starting the bundled pump emulator", 0.0)
            self.emulator = BundledEmulator()
            url = self.emulator.start()
            report("filling it with baclofen 500 mcg/mL and starting 150 mcg/day", 0.0)
            set_up_demo_patient(url)
        return self._connect(self.emulator.url, START_EMULATOR)

    def _interrogate(self, _argument: object, operation: str = INTERROGATE) -> PumpSnapshot:
        report = self._reporter(operation)
        snapshot = read_pump(_Reporting(self._open_driver(), report))
        report("done", 1.0)
        return snapshot

    def _events(self, _argument: object) -> list[PumpEvent]:
        return self._open_driver().read_events(self._reporter(EVENTS))

    def _commit(self, argument: tuple[WriteReview, str]) -> CommitDone:
        review, clinician = argument
        driver = self._open_driver()
        result = commit_write(_Reporting(driver, self._reporter(COMMIT)), review, clinician, AuditLog(self.audit_path))
        try:
            return CommitDone(result, read_pump(driver), None)
        except (LinkError, OSError) as exc:
            self._close()
            return CommitDone(result, None, str(exc))

    def _set_clock(self, _argument: object) -> PumpSnapshot:
        driver = self._open_driver()
        self._reporter(SET_CLOCK)("setting the pump clock to this computer's", 0.0)
        driver.set_clock(computer_now())
        return self._interrogate(None, SET_CLOCK)

    def _disconnect(self, _argument: object) -> None:
        self._close()

    def _open_driver(self) -> PumpDriver:
        if self.driver is None:
            raise NotConnected()
        return self.driver

    def _close(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            try:
                driver.close()
            except (LinkError, OSError):
                pass  # the link is already gone; closing is only tidying up


class PumpLink(QObject):
    """The GUI's handle on the pump: one request at a time, answered by signals in the GUI thread."""

    progress = Signal(str, str, float)
    finished = Signal(str, object)
    failed = Signal(str, str, bool)
    busy_changed = Signal(bool)
    _requested = Signal(str, object)

    def __init__(self, audit_path: Path, driver_options: dict | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.url: str | None = None
        self.operation: str | None = None
        self._thread = QThread()
        self._thread.setObjectName("pump link")
        self._worker = _Worker(Path(audit_path), driver_options or {})
        self._worker.moveToThread(self._thread)
        self._requested.connect(self._worker.run)
        self._worker.opened.connect(self._opened)
        self._worker.progress.connect(self.progress)
        self._worker.finished.connect(self._finish)
        self._worker.failed.connect(self._fail)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self.operation is not None

    def request(self, operation: str, argument: object = None) -> bool:
        """Ask the worker to do ``operation``; False (and nothing done) while another one is running."""
        if self.busy:
            return False
        self.operation = operation
        self.busy_changed.emit(True)
        self._requested.emit(operation, argument)
        return True

    def cancel(self) -> None:
        """Cancel a read at its next step; a write is never cancelled."""
        if self.operation in CANCELLABLE:
            self._worker.cancel.set()

    def shutdown(self) -> None:
        """Stop the thread, then close the link (waits for a running request to end: never cut a write)."""
        self._thread.quit()
        self._thread.wait()
        self._worker._close()  # the thread has stopped: nobody else is using the driver
        if self._worker.emulator is not None:
            self._worker.emulator.stop()

    def _opened(self, url: str) -> None:
        self.url = url

    def _finish(self, operation: str, result: object) -> None:
        self._idle()
        self.finished.emit(operation, result)

    def _fail(self, operation: str, message: str, link_lost: bool) -> None:
        self._idle()
        self.failed.emit(operation, message, link_lost)

    def _idle(self) -> None:
        self.operation = None
        self.busy_changed.emit(False)

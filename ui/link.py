"""The pump link for the GUI: one driver, owned by one worker thread, talked to only through signals.

Why one long-lived worker and not a thread per call: a pump link is one conversation (sequence numbers,
a session opened with HELLO), so exactly one thread may use the driver, and requests are served one at a
time in the order they were made. The GUI thread never calls the driver and never waits: it asks with
``request(...)`` and hears back through ``progress``, ``finished`` and ``failed``.

Each operation is a ``Request`` subclass holding its arguments and its work, so the window says what it
wants with an object (``Commit(review, visit)``), gets the same object back with its result or its
``Failure``, and matches on its type; a new operation is one class here and one case in the window. A
failure is the exception itself, not words: the window says it from its kind (``programmer.errors``), in
one place.

The work itself is ``programmer``'s: ``read_pump`` interrogates, ``commit_write`` checks, audits, writes
two-phase and judges the read-back, ``commit_refill`` does the same for a refill, and ``settings_commit`` sets
and audits the clock and the low-reservoir alarm (its threshold read back), as the command line does. This module
only adds progress reporting and the thread.

Boluses are link work too: ``GiveBolus`` (and ``SetDemand``) commit through ``programmer.bolus_commit``, which audits
first, sends once under one id and settles a lost answer with ``bolus_status``; ``WatchBolus`` reads a running
bolus's progress for the Bolus page, which the window asks for about every second while one runs, only while the
link is free; ``CancelBolus`` stops one. Every interrogation also reads the patient's demand dose and the last days'
events for its use (``demand_read``, before the snapshot). ``PressButton`` is the demo's tester control.

The secure link (protocol version 2) adds pairing (``Pair``): link work like any other, so it runs in this
thread too; the driver pairs over the code while it opens the link, then the pump is read as by ``Connect``.
A change over an insecure link (a pump speaking version 1) is refused by the driver itself (``LinkNotSecure``)
unless the application was started with ``--allow-insecure-link``: that option is one of the driver options
given here, and the refusal comes back like any other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from PySide6.QtCore import QObject, QThread, Signal, Slot

from programmer.errors import InputError, LinkError, ProgrammerError, PumpRefused
from ui import gui_thread_gc
from ui.app_log import log

if TYPE_CHECKING:
    # The store's modules load in the clinic thread, the domain's checks, reviews and commits in the link's thread as
    # a request needs them (or the window's library thread, ``ui.main_window.import_logic``), after the window shows.
    from clinic.visit import Visit
    from programmer.audit import AuditLog
    from programmer.bolus import BolusReview, BridgeReview, DemandReview, PrimeReview
    from programmer.commit import SessionResult
    from programmer.port import BolusOutcome, DemandSettings, PumpDriver, PumpEvent, PumpStatus
    from programmer.refill import RefillReview
    from programmer.review import Review, WriteReview
    from programmer.roles import User
    from programmer.settings_commit import LowAlarmSet
    from programmer.snapshot import PumpSnapshot
    from ui.emulator import BundledEmulator, ControlEndpoint

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
    """A write's or a refill's result, and the pump as interrogated right after it (None if that read failed: then
    ``refresh_error`` is why, and the link was closed)."""

    result: SessionResult
    snapshot: PumpSnapshot | None
    refresh_error: Exception | None


@dataclass(frozen=True)
class Failure:
    """Why a request did not finish: the exception itself, which the window puts into words by its kind."""

    error: Exception

    @property
    def link_lost(self) -> bool:
        """The link failed: the worker closed it, and nothing more is sent until a reconnection."""
        return isinstance(self.error, LinkError)

    @property
    def foreseen(self) -> bool:
        """False for a bug: anything but the programmer's errors, a cancelled read or a missing link."""
        return isinstance(self.error, (ProgrammerError, Cancelled, NotConnected))


# --- the requests: one class each, with the work it does in the link's thread ------------------------------


@dataclass(frozen=True)
class Request:
    """One thing asked of the pump. A new operation is one more subclass: what it is called while it runs
    (``doing``), whether a clinician may cancel it, and ``run``, its work in the link's thread."""

    doing: ClassVar[str]
    cancellable: ClassVar[bool] = False
    """Only reads may be cancelled: stopping a write half way is exactly what the two-phase write avoids."""
    quiet: ClassVar[bool] = False
    """A short read repeated while a bolus runs: the status bar does not flash its progress every second."""

    def run(self, worker: "_Worker") -> object:
        raise NotImplementedError


@dataclass(frozen=True)
class Connect(Request):
    """Open ``url`` and interrogate the pump there. Result: ``PumpSnapshot``."""

    url: str
    doing: ClassVar[str] = "connecting and interrogating"
    cancellable: ClassVar[bool] = True

    def run(self, worker: "_Worker") -> PumpSnapshot:
        return worker.connect_to(self.url, self)


@dataclass(frozen=True)
class Pair(Request):
    """Pair with the pump at ``url`` over the 6-digit ``code`` it shows, then connect and interrogate as
    ``Connect`` does. Result: ``PumpSnapshot``. The driver keeps the pair key only once the pump has accepted
    the pairing; a wrong code is a ``PairingFailed`` and nothing is kept."""

    url: str
    code: str = field(repr=False)  # a one-time secret: never in a log line or a crash report
    doing: ClassVar[str] = "pairing with the pump"

    def run(self, worker: "_Worker") -> PumpSnapshot:
        return worker.connect_to(self.url, self, pairing_code=self.code)


@dataclass(frozen=True)
class Disconnect(Request):
    """End the session and close the link (Pump > Disconnect), so that another programmer may connect: a pump
    takes one programmer at a time. Reconnect opens it again. Result: None."""

    doing: ClassVar[str] = "disconnecting"

    def run(self, worker: "_Worker") -> None:
        worker.reporter(self)("ending the session", 0.0)
        worker.close()


@dataclass(frozen=True)
class StartEmulator(Request):
    """Start the bundled emulator once (a factory-new pump given the demo patient), pair with it over the code it
    prints, then connect to it. Result: ``PumpSnapshot``."""

    doing: ClassVar[str] = "starting the bundled emulator"

    def run(self, worker: "_Worker") -> PumpSnapshot:
        from ui.emulator import BundledEmulator, set_up_demo_patient  # the emulator's starter: in this thread

        report = worker.reporter(self)
        if worker.emulator is None or worker.emulator.process is None:
            report("starting the bundled pump emulator", 0.0)
            worker.emulator = emulator = BundledEmulator()
            url = emulator.start()
            try:
                report("pairing with it over the code it shows", 0.0)
                emulator.pair(**worker.driver_options)
                report("filling it with baclofen 500 mcg/mL and starting 150 mcg/day", 0.0)
                set_up_demo_patient(url, **worker.options_for(url))
            except BaseException:
                emulator.stop()  # its code is spent or its patient half set up: the next try starts a fresh one
                raise
        assert worker.emulator.url is not None, "start() set it"
        worker.control_found.emit(worker.emulator.control)
        return worker.connect_to(worker.emulator.url, self)


@dataclass(frozen=True)
class Interrogate(Request):
    """Read everything again. Result: ``PumpSnapshot``."""

    doing: ClassVar[str] = "interrogating"
    cancellable: ClassVar[bool] = True

    def run(self, worker: "_Worker") -> PumpSnapshot:
        return worker.interrogate(self)


@dataclass(frozen=True)
class ReadEvents(Request):
    """Read the whole event log. Result: ``list[PumpEvent]``."""

    doing: ClassVar[str] = "reading the event log"
    cancellable: ClassVar[bool] = True

    def run(self, worker: "_Worker") -> list[PumpEvent]:
        return worker.open_driver().read_events(worker.reporter(self))


@dataclass(frozen=True)
class Commit(Request):
    """Write a reviewed program (checks, audit, two-phase write, read-back) in ``visit``'s name, then interrogate.
    Result: ``CommitDone``."""

    review: WriteReview
    visit: Visit
    doing: ClassVar[str] = "writing the program"

    def run(self, worker: "_Worker") -> CommitDone:
        from programmer.commit import commit_write

        return worker.commit_then_read(self, self.visit, lambda driver, user, audit: commit_write(
            driver, self.review, user, audit))


@dataclass(frozen=True)
class Refill(Request):
    """Record a reviewed refill (audit, REFILL, read-back) in ``visit``'s name, then interrogate. Result:
    ``CommitDone``."""

    review: RefillReview
    visit: Visit
    doing: ClassVar[str] = "recording the refill"

    def run(self, worker: "_Worker") -> CommitDone:
        from programmer.commit import commit_refill

        return worker.commit_then_read(self, self.visit, lambda driver, user, audit: commit_refill(
            driver, self.review, user, audit))


@dataclass(frozen=True)
class SetClock(Request):
    """Set the pump's clock to this computer's (``settings_commit.set_clock``: audited in ``visit``'s name, a role
    that may not is refused and recorded), then interrogate. Result: ``PumpSnapshot``. The application also holds the
    clock to the patient's hard stop, after the role and before anything is sent (a pump not this visit's patient's
    is refused)."""

    visit: Visit
    doing: ClassVar[str] = "setting the pump clock"

    def run(self, worker: "_Worker") -> PumpSnapshot:
        from programmer.settings_commit import authorize_setting, set_clock

        driver = worker.open_driver()
        authorize_setting(self.visit.audit, "set_clock", self.visit.user, driver.insecure_changes)
        self.visit.require_change_allowed(driver.identify().serial)
        worker.reporter(self)("setting the pump clock to this computer's", 0.0)
        set_clock(driver, self.visit.user, self.visit.audit)  # a mismatch shows in the reading after (its drift)
        return worker.interrogate(self)


@dataclass(frozen=True)
class LowAlarmDone:
    """A low-reservoir alarm threshold sent: what ``settings_commit.set_low_alarm`` recorded (the threshold before,
    asked for and read back), and the pump interrogated after it (None if that read failed: then ``refresh_error``
    is why, and the link was closed)."""

    result: LowAlarmSet
    snapshot: PumpSnapshot | None
    refresh_error: Exception | None


@dataclass(frozen=True)
class SetLowAlarm(Request):
    """Set the low-reservoir alarm threshold and read it back (``settings_commit.set_low_alarm``: audited in
    ``visit``'s name, its role and the patient's hard stop checked and a refusal recorded), then interrogate.
    Result: ``LowAlarmDone``; a threshold outside the pump's range is refused (``InputError``), nothing sent."""

    low_alarm_ml: float
    visit: Visit
    doing: ClassVar[str] = "setting the low-reservoir alarm"

    def run(self, worker: "_Worker") -> LowAlarmDone:
        from programmer.settings_commit import set_low_alarm

        driver = worker.open_driver()
        report = worker.reporter(self)
        report("reading the threshold it holds", 0.0)
        identity = driver.identify()
        before = driver.read_status().low_alarm_ml
        report(f"setting it to {self.low_alarm_ml:g} mL and reading it back", 0.2)
        result = set_low_alarm(driver, self.visit.user, self.visit.audit, self.low_alarm_ml, identity, before)
        if result.read_back_ml is None:
            raise InputError([("low_alarm_ml", result.message)])
        return LowAlarmDone(result, *worker.read_after(self))


@dataclass(frozen=True)
class DemandReading:
    """The patient's demand dose as the pump holds it (None on a pump without one) and the events of the last
    ``USE_DAYS`` days of pump time, for its use a day; read with every interrogation."""

    settings: DemandSettings | None
    events: tuple[PumpEvent, ...]
    pump_time: datetime


def commit_of(review: Review) -> Callable[[PumpDriver, Any, User, AuditLog], SessionResult]:
    """The domain's commit for each kind of review the Bolus page gives (``programmer.bolus_commit``)."""
    from programmer.bolus import BolusReview, BridgeReview, DemandReview, PrimeReview
    from programmer.bolus_commit import commit_bolus, commit_bridge, commit_demand, commit_prime

    commits: dict[type, Callable[[PumpDriver, Any, User, AuditLog], SessionResult]] = {
        BolusReview: commit_bolus, PrimeReview: commit_prime, BridgeReview: commit_bridge, DemandReview: commit_demand}
    return commits[type(review)]


@dataclass(frozen=True)
class GiveBolus(Request):
    """Give a reviewed bolus (therapeutic, prime or bridge) or set the demand dose: audit, send once under its id,
    settle the outcome (``programmer.bolus_commit``), then interrogate. Result: ``CommitDone``."""

    review: Review
    visit: Visit
    doing: ClassVar[str] = "starting the bolus"

    def run(self, worker: "_Worker") -> CommitDone:
        commit = commit_of(self.review)
        return worker.commit_then_read(self, self.visit, lambda driver, user, audit: commit(
            driver, self.review, user, audit))


@dataclass(frozen=True)
class SetDemand(GiveBolus):
    """Write the patient's demand dose and verify it by its read-back checksum, then interrogate. Result:
    ``CommitDone``."""

    doing: ClassVar[str] = "setting the demand dose"


@dataclass(frozen=True)
class BolusWatch:
    """A running bolus's progress: the status read (its ``bolus`` None once none runs), and, once the watched bolus
    has ended, how the pump says it ended (None while it runs, or if the pump does not know it)."""

    status: PumpStatus
    ended: BolusOutcome | None


@dataclass(frozen=True)
class WatchBolus(Request):
    """Read the status for a running bolus's progress (the Bolus page polls with it). Result: ``BolusWatch``."""

    bolus_id: str | None
    doing: ClassVar[str] = "reading the bolus's progress"
    quiet: ClassVar[bool] = True

    def run(self, worker: "_Worker") -> BolusWatch:
        driver = worker.open_driver()
        status = driver.read_status()
        running = status.bolus is not None and status.bolus.bolus_id == self.bolus_id
        ended = None
        if not running and self.bolus_id is not None:
            try:
                ended = driver.bolus_status(self.bolus_id)
            except PumpRefused:  # a pump that cannot say (an older one): the event log tells how it ended
                pass
        return BolusWatch(status, ended)


@dataclass(frozen=True)
class CancelDone:
    """A bolus cancelled: how the pump says it ended, and the pump interrogated after (as ``CommitDone``)."""

    outcome: BolusOutcome
    snapshot: PumpSnapshot | None
    refresh_error: Exception | None


@dataclass(frozen=True)
class CancelBolus(Request):
    """Stop a running bolus (a resend is harmless: one already ended answers how it ended), then interrogate.
    Result: ``CancelDone``."""

    bolus_id: str
    doing: ClassVar[str] = "stopping the bolus"

    def run(self, worker: "_Worker") -> CancelDone:
        worker.reporter(self)("stopping the bolus", 0.0)
        outcome = worker.open_driver().cancel_bolus(self.bolus_id)
        return CancelDone(outcome, *worker.read_after(self))


@dataclass(frozen=True)
class PressDone:
    """The emulated patient's press of the demand button: whether the pump gave a dose and why not
    (``ui.emulator.press_demand_button``), and the pump interrogated after."""

    answer: dict
    snapshot: PumpSnapshot | None
    refresh_error: Exception | None


@dataclass(frozen=True)
class PressButton(Request):
    """The demo's tester control: the emulated patient presses the demand button (SERVICE ``press_button``,
    docs/emulator.md). Result: ``PressDone``."""

    doing: ClassVar[str] = "pressing the patient's demand button"

    def run(self, worker: "_Worker") -> PressDone:
        from ui.emulator import press_demand_button

        answer = press_demand_button(worker.open_driver())
        return PressDone(answer, *worker.read_after(self))


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


def _reporting(driver: PumpDriver, report: Callable[[str, float], None]) -> PumpDriver:
    return _Reporting(driver, report)  # type: ignore[return-value]  # a PumpDriver by delegation (__getattr__)


class _Worker(QObject):
    opened = Signal(str, bool)                # the URL of a link just opened, and whether it is secure
    control_found = Signal(object)            # ControlEndpoint of the bundled emulator, before its link opens
    demand_read = Signal(object)              # DemandReading, with every interrogation, before its result
    progress = Signal(object, str, float)     # Request, step, fraction done
    finished = Signal(object, object)         # Request, its result
    failed = Signal(object, object)           # Request, Failure

    def __init__(self, driver_options: dict):
        super().__init__()
        self.driver_options = driver_options
        self.driver: PumpDriver | None = None
        self.emulator: BundledEmulator | None = None
        self.cancel = threading.Event()

    @Slot(object)
    def run(self, request: Request) -> None:
        self.cancel.clear()
        try:
            result = request.run(self)
        except Exception as exc:  # every failure reaches the window, a bug too: none may vanish in a thread
            failure = Failure(exc)
            if failure.link_lost:
                self.close()
            elif not failure.foreseen:
                log.exception("unexpected error while %s", request.doing)
            self.failed.emit(request, failure)
        else:
            self.finished.emit(request, result)

    def reporter(self, request: Request) -> Callable[[str, float], None]:
        """A progress callback for ``request``; it raises ``Cancelled`` at a cancelled read's next step."""
        def report(step: str, fraction: float) -> None:
            if request.cancellable and self.cancel.is_set():
                raise Cancelled()
            self.progress.emit(request, step, fraction)
        return report

    def connect_to(self, url: str, request: Request, **extra: object) -> PumpSnapshot:  # not connect(): QObject's
        """Open ``url`` with the options for it and ``extra`` (a pairing code), then interrogate."""
        self.close()
        from programmer.port import open_driver  # the drivers' entry points: looked up in this thread, when used

        self.reporter(request)(f"pairing with {url}" if "pairing_code" in extra else f"opening {url}", 0.0)
        self.driver = open_driver(url, **self.options_for(url), **extra)
        self.opened.emit(url, self.driver.secure)
        return self.interrogate(request)

    def options_for(self, url: str) -> dict[str, object]:
        """The driver options for a link to ``url``: the application's, with the in-memory keys of the bundled
        emulator's pairing for a link to it (the user's key store for any other pump: the driver's default)."""
        if self.emulator is not None and url == self.emulator.url:
            return self.emulator.driver_options(**self.driver_options)
        return dict(self.driver_options)

    def interrogate(self, request: Request) -> PumpSnapshot:
        from programmer.interrogation import read_pump

        report = self.reporter(request)
        snapshot = read_pump(_reporting(self.open_driver(), report))
        self.read_demand(snapshot)
        report("done", 1.0)
        return snapshot

    def read_demand(self, snapshot: PumpSnapshot) -> None:
        """Send on the demand dose the snapshot read (``snapshot.demand``: None from a pump that has none) with its
        last days' events (``demand_read``), before the snapshot they go with."""
        pump_time = snapshot.status.pump_time
        if snapshot.identity.max_bolus_ml_per_hour is None:  # a pump older than demand doses (docs/protocol.md)
            self.demand_read.emit(DemandReading(None, (), pump_time))
            return
        from programmer.interrogation import read_recent_events
        from ui.view_models.demand_use import USE_DAYS

        events = read_recent_events(self.open_driver(), pump_time, timedelta(days=USE_DAYS))
        self.demand_read.emit(DemandReading(snapshot.demand, events, pump_time))

    def commit_then_read(self, request: Request, visit: Visit,
                         commit: Callable[[PumpDriver, User, AuditLog], SessionResult]) -> CommitDone:
        """Commit a change in ``visit``'s name (its user, its journaled audit: the role and the patient's hard stop
        are checked there, before anything is sent), put a verified one in the patient's dose history, then
        interrogate the pump again; the change's result reaches the screen whatever stops that reading."""
        result = commit(_reporting(self.open_driver(), self.reporter(request)), visit.user, visit.audit)
        try:
            visit.record(result)
        except Exception:  # the change happened and is in the audit: its history entry is not worth hiding that
            log.exception("the dose history of a change could not be recorded")
        return CommitDone(result, *self.read_after(request))

    def read_after(self, request: Request) -> tuple[PumpSnapshot | None, Exception | None]:
        """Interrogate the pump after ``request`` changed it: the snapshot, or None and why it could not be read
        (then the link is closed). It never raises, so the change's result reaches the screen whatever stops
        this reading."""
        from programmer.interrogation import read_pump

        try:
            snapshot = read_pump(self.open_driver())
            self.read_demand(snapshot)
            return snapshot, None
        except Exception as exc:
            if not Failure(exc).foreseen:
                log.exception("unexpected error while reading the pump after %s", request.doing)
            self.close()
            return None, exc

    def open_driver(self) -> PumpDriver:
        if self.driver is None:
            raise NotConnected()
        return self.driver

    def close(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.close()  # never raises (the port's contract): closing a lost link only tidies up


class PumpLink(QObject):
    """The GUI's handle on the pump: one request at a time, answered by signals in the GUI thread."""

    progress = Signal(object, str, float)     # Request, step, fraction done
    finished = Signal(object, object)         # Request, its result (the type its class names)
    failed = Signal(object, object)           # Request, Failure
    busy_changed = Signal(bool)
    demand_read = Signal(object)              # DemandReading, with every interrogation, before its result
    _requested = Signal(object)

    def __init__(self, driver_options: dict | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.url: str | None = None
        self.secure = True
        """Whether the link last opened is authenticated and encrypted (False: a pump speaking version 1)."""
        self.allow_insecure_link = bool((driver_options or {}).get("allow_insecure_link", False))
        self.running: Request | None = None
        self.emulator_control: ControlEndpoint | None = None
        """The bundled emulator's control channel, once it has started (its pump is at ``pump_url``)."""
        self._thread = QThread()
        self._thread.setObjectName("pump link")
        self._worker = _Worker(driver_options or {})
        self._worker.moveToThread(self._thread)
        self._requested.connect(self._worker.run)
        self._worker.opened.connect(self._opened)
        self._worker.control_found.connect(self._control_found)
        self._worker.demand_read.connect(self.demand_read)
        self._worker.progress.connect(self.progress)
        self._worker.finished.connect(self._finish)
        self._worker.failed.connect(self._fail)
        gui_thread_gc.hold()  # from here on, no garbage cycle of Qt objects is collected in the link's thread
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self.running is not None

    def request(self, request: Request) -> bool:
        """Ask the worker to do ``request``; False (and nothing done) while another one is running: the caller
        says so, a request is never dropped in silence."""
        if self.busy:
            return False
        self.running = request
        self.busy_changed.emit(True)
        self._requested.emit(request)
        return True

    def cancel(self) -> None:
        """Cancel a read at its next step; a write is never cancelled."""
        if self.running is not None and self.running.cancellable:
            self._worker.cancel.set()

    def shutdown(self) -> None:
        """Stop the thread, then close the link (waits for a running request to end: never cut a write). A second
        call does nothing (a window may be closed twice)."""
        if self._thread.isFinished():
            return
        self._thread.quit()
        self._thread.wait()
        gui_thread_gc.release()
        self._worker.close()  # the thread has stopped: nobody else is using the driver
        if self._worker.emulator is not None:
            self._worker.emulator.stop()

    def _control_found(self, control: ControlEndpoint) -> None:
        self.emulator_control = control

    def _opened(self, url: str, secure: bool) -> None:
        self.url = url
        self.secure = secure

    def _finish(self, request: Request, result: object) -> None:
        self._idle()
        self.finished.emit(request, result)

    def _fail(self, request: Request, failure: Failure) -> None:
        self._idle()
        self.failed.emit(request, failure)

    def _idle(self) -> None:
        self.running = None
        self.busy_changed.emit(False)

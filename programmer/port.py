"""The driver port: what the rest of the programmer asks of a pump, whatever the link.

``programmer`` never imports a concrete driver. Drivers register a factory under the entry-point group
``itb_programmer.drivers`` (see pyproject.toml), one entry point per URL scheme it opens, and
``open_driver(url)`` picks the one named by the URL's scheme: explicit, so a mistyped port is an error
that says what is installed, never handed to whichever driver happens to accept anything. Results are
plain dataclasses so the CLI, the GUI and the tests read them the same way.

The central safety idea (from LoopKit's uncertain delivery and AndroidAPS' success-vs-enacted): a write
has four outcomes, and only ``VERIFIED`` means the pump runs the new program as read back from it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import EntryPoints, entry_points
from typing import Callable

from programmer.outcome import Outcome
from programmer.program import Drug, Program

ProgressCallback = Callable[[str, float], None]
"""Called as ``progress(step_name, fraction_done)`` with fraction_done in [0, 1]; must not block."""

DRIVER_ENTRY_POINT_GROUP = "itb_programmer.drivers"
"""Each entry point's name is the URL scheme its factory opens, in lower case (``socket`` for
``socket://HOST:PORT``), except ``SERIAL_DEVICE``."""

SERIAL_DEVICE = "serial_device"
"""The entry-point name of the driver for a serial device path, a port given without a scheme (``/dev/ttyUSB0``,
``COM3``). A URL scheme never contains ``_`` (RFC 3986), so no URL can select it by name."""

SERIAL_DEVICE_PATH = re.compile(r"""
      /dev/(tty|cu)[^/\s]+      # /dev/ttyUSB0, /dev/ttyACM0, /dev/ttyS0; macOS /dev/cu.*, /dev/tty.*; BSD /dev/cuaU0
    | /dev/pts/[0-9]+           # a pseudo-terminal, such as the emulator's --pty
    | /dev/serial/\S+           # udev's stable names: /dev/serial/by-id/..., /dev/serial/by-path/...
    | /dev/rfcomm[0-9]+         # a Bluetooth serial port
    | (\\\\\.\\)?(?i:COM)[0-9]+   # Windows: COM3, or \\.\COM12 as Windows spells the ports above COM9
    """, re.VERBOSE)
"""What a serial device path looks like: the names pyserial lists on Linux, macOS, FreeBSD and Windows, each
platform's form accepted on every platform (one that does not exist here fails to open). Any other string
without a scheme, such as a relative ``dev/ttyUSB0`` or a file, is refused before anything is opened."""

_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


class LinkError(Exception):
    """The link to the pump failed (timeout, disconnect, garbled beyond retries). Names the step."""


class PumpRefused(Exception):
    """The pump understood the request and said no (status code and its message)."""

    def __init__(self, status: str, message: str, field_name: str | None = None):
        self.status = status
        self.field_name = field_name
        super().__init__(f"pump refused ({status}): {message}")


SIMULATED_FIRMWARE_PREFIX = "emu-"


@dataclass(frozen=True)
class PumpIdentity:
    model: str
    serial: str
    firmware: str
    capacity_ml: float
    min_rate_ml_per_day: float
    max_rate_ml_per_day: float
    max_steps_per_day: int
    max_cycle_days: int
    event_log_size: int

    @property
    def simulated(self) -> bool:
        """True for the bundled emulator, whose firmware identifies itself as ``emu-...``
        (docs/emulator.md): every screen showing such a pump must say it is not a patient's."""
        return self.firmware.startswith(SIMULATED_FIRMWARE_PREFIX)


@dataclass(frozen=True)
class Alarm:
    code: str
    severity: str  # "critical" | "non_critical"
    since: datetime


@dataclass(frozen=True)
class BolusState:
    bolus_id: str
    dose: float
    delivered: float
    remaining_s: float


@dataclass(frozen=True)
class PumpStatus:
    pump_time: datetime
    battery_status: str  # "ok" | "eri" | "eos"
    battery_percent: float
    volume_ml: float
    low_alarm_ml: float
    capacity_ml: float
    alarms: tuple[Alarm, ...]
    program_checksum: str
    cycle_phase_min: float
    bolus: BolusState | None = None


@dataclass(frozen=True)
class ActiveProgram:
    """What the pump runs. ``drug`` is None on a factory-new pump (then ``program`` is None too)."""

    drug: Drug | None
    therapy: dict
    checksum: str
    program: Program | None


@dataclass(frozen=True)
class PumpEvent:
    index: int
    time: datetime
    kind: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WriteOutcome:
    status: Outcome
    message: str
    active: ActiveProgram | None  # as read back from the pump; None only when UNCERTAIN
    staged_checksum: str | None = None


@dataclass(frozen=True)
class BolusOutcome:
    bolus_id: str
    dose: float
    volume_ml: float
    state: str  # "delivering" | "done" | "cancelled"
    repeated: bool


@dataclass(frozen=True)
class RefillOutcome:
    refill_id: str
    volume_ml: float
    calculated_ml: float  # the pump's calculated volume just before the refill
    repeated: bool


class PumpDriver(ABC):
    """One open link to one pump. Calls block; the GUI runs them in a worker thread.

    What a method says below, and the pump's rules of docs/protocol.md section 8 it passes on, hold for every
    driver: tests/test_driver_contract.py checks them over the serial driver and over the test doubles. A
    refusal is ``PumpRefused`` with the protocol's status name and the field, and nothing changed on the pump.
    """

    events_per_read: int
    """The most events one exchange with the pump returns (the wire protocol's page, set by the driver): the
    size in which the newest part of the log is read, so the domain never restates a protocol figure."""

    @abstractmethod
    def identify(self) -> PumpIdentity: ...

    @abstractmethod
    def read_status(self) -> PumpStatus: ...

    @abstractmethod
    def read_program(self) -> ActiveProgram:
        """The active program as the pump holds it; on a pump without a drug, therapy stopped and
        ``NO_PROGRAM_CHECKSUM``."""

    @abstractmethod
    def write_program(self, program: Program, progress: ProgressCallback | None = None) -> WriteOutcome:
        """Stage, check the staged checksum, commit, read back, compare. Never raises for link faults
        after staging began: the outcome says what the pump runs. A program for a drug other than the
        pump's is refused (REFUSED, ``program.drug``: that is a refill), one beyond the pump's limits
        OUT_OF_RANGE naming the field; writing the active program again is verified and activates nothing."""

    def read_events(self, progress: ProgressCallback | None = None) -> list[PumpEvent]:
        """The whole retained event log, oldest first, read a page of ``events_per_read`` at a time through
        ``read_event_page`` (docs/protocol.md section 11), so every driver pages it the same way.

        It starts at the oldest event the pump can still hold (``total - event_log_size``) and reads on
        until the ``total`` of the latest page, so events logged meanwhile are picked up.
        ``progress("read events", fraction)`` follows the pages; an exception raised by it stops the read
        there (reading is always safe to cancel).
        """
        log_size = self.identify().event_log_size
        total, _ = self.read_event_page(0, 0)
        first = start = max(0, total - log_size)
        events: list[PumpEvent] = []
        while start < total:
            total, page = self.read_event_page(start, self.events_per_read)
            events += page
            start += self.events_per_read
            if progress is not None:
                progress("read events", min(1.0, (start - first) / max(1, total - first)))
        if progress is not None and start == first:
            progress("read events", 1.0)  # an empty log: no page reported it
        return events

    @abstractmethod
    def read_event_page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        """The pump's event ``total`` and its retained events with ``start <= index < start + count``,
        oldest first; ``count`` 0 asks only for the total. For reading just the newest part of a long
        log on a slow link (a span too large for one answer is read in pieces by the driver). A
        negative ``start``, or a ``count`` outside 0..``events_per_read``, is refused (``PumpRefused``
        OUT_OF_RANGE naming ``start`` or ``count``)."""

    @abstractmethod
    def set_clock(self, time: datetime) -> datetime:
        """Set the pump clock and return the pump time read back afterwards. The clock is set to
        ``programmer.clock.pump_clock_reading(time)`` (local time, to the second) and logs ``clock_set``."""

    @abstractmethod
    def bolus(self, bolus_id: str, dose: float, duration_min: float) -> BolusOutcome:
        """Deliver a bolus once: a retry with the same id never delivers twice (it answers the first
        bolus, ``repeated``); the id with another dose or duration is refused (BAD_ARGUMENT)."""

    @abstractmethod
    def cancel_bolus(self, bolus_id: str) -> BolusOutcome:
        """Stop a bolus; one already ended answers how it ended, so a resend is harmless."""

    @abstractmethod
    def refill(self, refill_id: str, withdrawn_ml: float, added_ml: float, drug: Drug | None) -> RefillOutcome:
        """Record a refill once per ``refill_id``: a repeat with the same values answers the first refill,
        ``repeated``, and does nothing; other values are refused (BAD_ARGUMENT). ``drug`` None keeps the
        drug, a new concentration keeps the doses, another drug stops the therapy."""

    @abstractmethod
    def acknowledge_alarm(self, code: str) -> tuple[Alarm, ...]:
        """Silence an active alarm (logged once) and return the active alarms, that one still listed while
        its cause remains; an alarm not active answers the list as it is."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "PumpDriver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def url_scheme(url: str) -> str | None:
    """The scheme of a URL in lower case (``socket`` for ``SOCKET://h:p``); None when ``url`` has none."""
    match = _URL_SCHEME.match(url)
    return match.group(1).lower() if match else None


def open_driver(url: str, **options: object) -> PumpDriver:
    """Open ``url`` with the driver installed for its form; ``options`` (timeouts, a trace callback, ...)
    are passed to its factory.

    A URL goes to the entry point named by its scheme, a serial device path (``SERIAL_DEVICE_PATH``) to
    ``SERIAL_DEVICE``. Anything else, a scheme no driver is installed for, or a scheme two drivers claim,
    is a LinkError naming the URL and the forms installed, raised before anything is opened.
    """
    installed = entry_points(group=DRIVER_ENTRY_POINT_GROUP)
    if not installed:
        raise LinkError(f"no pump driver is installed (entry-point group {DRIVER_ENTRY_POINT_GROUP} is empty)")
    scheme = url_scheme(url)
    if scheme is not None:
        name, form = scheme, f"{scheme}:// URLs"
    elif SERIAL_DEVICE_PATH.fullmatch(url):
        name, form = SERIAL_DEVICE, "serial device paths"
    else:
        problem = ("no port given" if not url.strip() else
                   "it is neither a URL (SCHEME://...) nor a serial device path")
        raise LinkError(f"cannot open {url!r}: {problem}; {_installed_forms(installed)}")
    chosen = [entry for entry in installed if entry.name == name]
    if not chosen:
        raise LinkError(f"cannot open {url!r}: no pump driver is installed for {form}; {_installed_forms(installed)}")
    if len(chosen) > 1:
        claims = ", ".join(sorted(entry.value for entry in chosen))
        raise LinkError(f"cannot open {url!r}: {len(chosen)} installed drivers claim {form} ({claims}); "
                        "uninstall all but one")
    return chosen[0].load()(url, **options)


def _installed_forms(installed: EntryPoints) -> str:
    """What the installed drivers open, for an error message: their URL schemes, then device paths."""
    names = sorted({entry.name for entry in installed})
    forms = ", ".join(f"{name}://" for name in names if name != SERIAL_DEVICE) or "no URL"
    if SERIAL_DEVICE in names:
        forms += " and serial device paths (/dev/tty*, /dev/cu.*, /dev/pts/N, /dev/serial/..., /dev/rfcomm*, COMn)"
    return f"the installed drivers open {forms}"

"""The driver port: what the rest of the programmer asks of a pump, whatever the link.

``programmer`` never imports a concrete driver. Drivers register a factory under the entry-point group
``itb_programmer.drivers`` (see pyproject.toml), one entry point per URL scheme it opens, and
``open_driver(url)`` picks the one named by the URL's scheme: explicit, so a mistyped port is an error
that says what is installed, never handed to whichever driver happens to accept anything. Results are
plain dataclasses so the CLI, the GUI and the tests read them the same way.

The central safety idea (from LoopKit's uncertain delivery and AndroidAPS' success-vs-enacted): a write
has four outcomes, and only ``VERIFIED`` means the pump runs the new program as read back from it.

What a driver may raise is part of the port, so that the command line and the application each handle
failures in one place (``programmer.errors``): ``LinkError`` when the pump cannot be reached or its answer
cannot be trusted (``NotPaired``, one of them, when the pump does not know this programmer), ``PumpRefused``
when it answered no, ``InputError`` for a program it was handed that is not valid, and ``LinkNotSecure`` for a
change asked over a link that is not secure without the explicit permission (nothing was sent). Nothing else: an ``OSError`` of the link (``serial.SerialException`` is one; a device that
vanished, a path that does not exist, a peer that reset the connection) is turned by the driver into a
``LinkError`` naming the step and the port, never let out as it is.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import EntryPoints, entry_points
from typing import TYPE_CHECKING, Callable

from programmer.errors import LinkError, PumpRefused
from programmer.outcome import Outcome

if TYPE_CHECKING:  # the models only name types here: a driver's users need not build them to open a link
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
    tubing_ml: float | None = None
    """The pump's internal tubing volume, mL: drug moves through it, and then the catheter, before the patient gets it.
    None (and the five below too) from a pump that does not declare its dead volume: no prime, bridge or demand dose."""
    catheter_ml_per_cm: float | None = None
    catheter_cm_min: float | None = None
    catheter_cm_max: float | None = None
    priming_ml_per_hour: float | None = None
    max_bolus_ml_per_hour: float | None = None

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


BOLUS_KINDS = ("therapeutic", "prime", "bridge", "demand")
"""What a bolus is for (docs/protocol.md, BOLUS): a clinician's dose on top of the program, filling the tubing and
catheter after an implant or revision, pushing out the old concentration after a refill, or a patient's demand dose."""


@dataclass(frozen=True)
class BolusState:
    bolus_id: str
    dose: float
    delivered: float
    remaining_s: float
    kind: str = "therapeutic"


@dataclass(frozen=True)
class LineContent:
    """One stretch of fluid in the pump tubing and catheter; concentration 0 is spinal fluid (no drug)."""

    volume_ml: float
    concentration_per_ml: float


@dataclass(frozen=True)
class LineState:
    """What lies between the reservoir and the patient, as the pump reports it, and what it has moved.

    ``contents`` run from the catheter tip (what the patient gets next) back to the pump. ``to_patient_dose`` is in
    ``dose_unit``, counted since the drug last changed."""

    tubing_ml: float
    catheter_cm: float | None
    volume_ml: float
    contents: tuple[LineContent, ...]
    pumped_ml: float
    to_patient_ml: float
    to_patient_dose: float
    dose_unit: str | None


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
    line: LineState | None = None
    """None from a pump that does not report its tubing and catheter."""


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
    kind: str = "therapeutic"
    duration_min: float | None = None
    action_number: int | None = None
    delivered: float | None = None
    """Dose delivered so far, when the pump said (BOLUS_STATUS and CANCEL_BOLUS do)."""


@dataclass(frozen=True)
class BridgeRequest:
    """A bridge bolus to start with a refill, in one action (docs/protocol.md, REFILL)."""

    bolus_id: str
    volume_ml: float


@dataclass(frozen=True)
class RefillOutcome:
    refill_id: str
    volume_ml: float
    calculated_ml: float  # the pump's calculated volume just before the refill
    repeated: bool
    bridge: BolusOutcome | None = None


@dataclass(frozen=True)
class DemandDose:
    """A patient's demand dose: per activation ``dose`` (the pump's drug's dose units) over ``duration_min``, at
    most ``max_per_day`` in any 24 h, ``lockout_min`` from one granted activation to the next. Off: ``enabled`` False
    and the rest 0."""

    enabled: bool
    dose: float = 0.0
    duration_min: float = 0.0
    lockout_min: float = 0.0
    max_per_day: int = 0


@dataclass(frozen=True)
class DemandSettings:
    """The demand dose as the pump holds it (READ_DEMAND), with its checksum for the write-then-verify comparison."""

    demand: DemandDose
    dose_unit: str | None
    checksum: str


class PumpDriver(ABC):
    """One open link to one pump. Calls block; the GUI runs them in a worker thread.

    What a method says below, and the pump's rules of docs/protocol.md section 8 it passes on, hold for every
    driver: tests/drivers/test_contract.py checks them over the serial driver and over the test doubles. Every
    method raises only what its ``Raises:`` names (the module docstring): a refusal is ``PumpRefused`` with the
    protocol's status name and the field, and nothing changed on the pump; no ``OSError`` of the link gets out,
    the driver turns it into a ``LinkError`` naming the step and the port.
    """

    secure: bool = True
    """Whether every frame of the link is authenticated and encrypted (protocol version 2, docs/protocol.md
    section 6). False only for a pump that speaks the insecure version 1: a change then raises LinkNotSecure
    before anything is sent, unless the user explicitly allowed an insecure link."""

    allow_insecure_link: bool = False
    """Whether a change is sent over a link that is not secure rather than refused with LinkNotSecure: the user's
    explicit choice, which their role must hold the permission for as well (``Attempt.authorize``)."""

    @property
    def insecure_changes(self) -> bool:
        """True when a change would be sent over a link that is not secure (``secure`` False, and allowed)."""
        return not self.secure and self.allow_insecure_link

    programmer_id: str = ""
    """The id this programmer gives the pump (its pairing keys'); empty for a driver whose pumps need no pairing."""

    events_per_read: int
    """The most events one exchange with the pump returns (the wire protocol's page, set by the driver): the
    size in which the newest part of the log is read, so the domain never restates a protocol figure."""

    @abstractmethod
    def identify(self) -> PumpIdentity:
        """Returns: the pump's model, serial, firmware and the limits it declares. Changes nothing.

        Raises:
            LinkError: the pump could not be reached, or its answer is malformed (``field`` names the part).
            PumpRefused: the pump answered no.
        """

    @abstractmethod
    def read_status(self) -> PumpStatus:
        """Returns: the pump's clock, battery, reservoir, alarms, program checksum and cycle phase, read now.
        Changes nothing.

        Raises:
            LinkError: the pump could not be reached, or its answer is malformed (``field`` names the part).
            PumpRefused: the pump answered no.
        """

    @abstractmethod
    def read_program(self) -> ActiveProgram:
        """Returns: the program the pump runs, with its checksum; on a pump without a drug, therapy stopped and
        ``NO_PROGRAM_CHECKSUM``. Changes nothing.

        Raises:
            LinkError: the pump could not be reached, or its answer cannot be trusted (malformed, or a program
                whose checksum is not the one the pump reports).
            PumpRefused: the pump answered no.
        """

    @abstractmethod
    def write_program(self, program: Program, progress: ProgressCallback | None = None) -> WriteOutcome:
        """Stage, check the staged checksum, commit, read back, compare.

        Returns: the outcome, decided only from what was read back: ``VERIFIED`` when the pump runs
        ``program``; otherwise ``UNCHANGED``, ``MISMATCH`` or ``UNCERTAIN``, with ``active`` as read back
        (None only when ``UNCERTAIN``: the pump could not be read). The outcome says what the pump runs.
        Writing the active program again is verified and activates nothing.

        Raises:
            InputError: ``program`` is not a valid program document; nothing was sent.
            LinkError: the link failed before staging began; nothing was changed on the pump.
            PumpRefused: the pump refused to stage it; nothing was changed on the pump: a program for a drug
                other than the pump's (REFUSED, ``program.drug``: that is a refill), one beyond the pump's
                limits (OUT_OF_RANGE naming the field).
            Whatever ``progress`` raises, before staging began (that cancels the write; after, it is ignored).

        Never raises once staging began: a link that fails from then on, or a refused commit, is an outcome.
        """

    def read_events(self, progress: ProgressCallback | None = None) -> list[PumpEvent]:
        """Returns: the whole retained event log, oldest first. Changes nothing.

        It is read a page of ``events_per_read`` at a time through ``read_event_page`` (docs/protocol.md
        section 11), so every driver pages it the same way: from the oldest event the pump can still hold
        (``total - event_log_size``) on until the ``total`` of the latest page, so events logged meanwhile
        are picked up. ``progress("read events", fraction)`` follows the pages.

        Raises:
            LinkError: the pump could not be reached, or an answer is malformed.
            PumpRefused: the pump answered no.
            Whatever ``progress`` raises: it stops the read there (reading is always safe to stop).
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
        """Returns: the pump's event ``total`` and its retained events with ``start <= index < start + count``,
        oldest first; ``count`` 0 asks only for the total. For reading just the newest part of a long log on
        a slow link (a span too large for one answer is read in pieces by the driver). Changes nothing.

        Raises:
            LinkError: the pump could not be reached, or an answer is malformed.
            PumpRefused: the pump answered no; a negative ``start``, or a ``count`` outside
                0..``events_per_read``, is OUT_OF_RANGE naming ``start`` or ``count``.
        """

    @abstractmethod
    def set_clock(self, time: datetime) -> datetime:
        """Set the pump clock to ``programmer.clock.pump_clock_reading(time)`` (local time, to the second); the
        pump logs ``clock_set``.

        Returns: the pump time read back afterwards.

        Raises:
            LinkError: the clock may or may not have been set.
            PumpRefused: the pump refused the time (then it was not set) or the read-back after it.
        """

    @abstractmethod
    def bolus(self, bolus_id: str, dose: float, duration_min: float) -> BolusOutcome:
        """Deliver a bolus once: a retry with the same id never delivers twice.

        Returns: the bolus as the pump reports it (``repeated`` when that id was already given: the first
        bolus's answer).

        Raises:
            LinkError: whether it started is not known; ask again with the same id.
            PumpRefused: the pump did not start it; the id again with another dose or duration is BAD_ARGUMENT.
        """

    @abstractmethod
    def cancel_bolus(self, bolus_id: str) -> BolusOutcome:
        """Stop a running bolus; one already ended answers how it ended, so a resend is harmless.

        Returns: the dose delivered and the bolus's final state.

        Raises:
            LinkError: whether it stopped is not known; read the status.
            PumpRefused: the pump answered no (no such bolus, say).
        """

    @abstractmethod
    def refill(self, refill_id: str, withdrawn_ml: float, added_ml: float, drug: Drug | None,
               bridge: BridgeRequest | None = None) -> RefillOutcome:
        """Record a refill once per ``refill_id``. ``drug`` None keeps the pump's drug, a new concentration
        keeps the doses, another drug stops the therapy. ``bridge`` starts a bridge bolus in the same action (a new
        concentration needs one: the old drug is still in the tubing and catheter).

        Returns: the reservoir after it and the volume the pump had calculated (``repeated`` when that id was
        already recorded with the same values: the first refill's answer, and nothing done).

        Raises:
            LinkError: whether the pump recorded it is not known; resending the same id is safe.
            PumpRefused: the pump did not record it; the id again with other values is BAD_ARGUMENT.
        """

    @abstractmethod
    def acknowledge_alarm(self, code: str) -> tuple[Alarm, ...]:
        """Silence an active alarm (logged once).

        Returns: the active alarms, that one still listed while its cause remains; for an alarm not active,
        the list as it is.

        Raises:
            LinkError: whether it was acknowledged is not known.
            PumpRefused: the pump answered no.
        """

    @abstractmethod
    def set_low_alarm(self, low_alarm_ml: float) -> float:
        """Set the low-reservoir alarm threshold, mL; the pump logs ``low_alarm_set`` when it changes and raises or
        clears its ``low_reservoir`` alarm at once. Setting the same value again changes nothing.

        Returns: the threshold read back afterwards (READ_STATUS ``low_alarm_ml``), for the caller to compare.

        Raises:
            LinkError: whether it was set is not known: read the status.
            PumpRefused: the pump refused the value (outside its model's range, ``field`` ``low_alarm_ml``) or the
                read-back after it.
        """

    def prime(self, bolus_id: str, catheter_cm: float, volume_ml: float, reason: str,
              segments_cm: tuple[float, ...] = ()) -> BolusOutcome:
        """Record the catheter and fill tubing and catheter at the pump's priming rate, the program paused; the pump
        checks ``volume_ml`` against its own figure. Once per id, like ``bolus``.

        Raises:
            LinkError: whether it started is not known; ask with ``bolus_status``.
            PumpRefused: the pump did not start it (a catheter outside its range, a volume not its own, no drug).
        """
        raise PumpRefused("UNKNOWN_COMMAND", "prime: this driver's pumps have no priming bolus", step="prime")

    def bridge(self, bolus_id: str, volume_ml: float, concentration_per_ml: float) -> BolusOutcome:
        """Run the program at the mL rates of ``concentration_per_ml`` until ``volume_ml`` has moved, so the old drug in
        the tubing and catheter reaches the patient at the programmed dose. Once per id, like ``bolus``.

        Raises:
            LinkError: whether it started is not known; ask with ``bolus_status``.
            PumpRefused: the pump did not start it (nothing to bridge, a volume or concentration not its own).
        """
        raise PumpRefused("UNKNOWN_COMMAND", "bridge: this driver's pumps have no bridge bolus", step="bridge")

    def bolus_status(self, bolus_id: str) -> BolusOutcome | None:
        """Returns: the bolus the pump knows by ``bolus_id`` as it is now, or None when it never started one by that id.
        Changes nothing, so it is the safe question after a link failure.

        Raises:
            LinkError: the pump could not be reached; PumpRefused: the pump answered no.
        """
        raise PumpRefused("UNKNOWN_COMMAND", "bolus status: this driver's pumps cannot say", step="bolus status")

    def read_demand(self) -> DemandSettings:
        """Returns: the patient's demand dose as the pump holds it. Changes nothing.

        Raises:
            LinkError: the pump could not be reached; PumpRefused: the pump answered no.
        """
        raise PumpRefused("UNKNOWN_COMMAND", "demand dose: this driver's pumps have none", step="read demand dose")

    def write_demand(self, demand: DemandDose) -> DemandSettings:
        """Set the patient's demand dose (or switch it off), then read it back.

        Returns: the settings read back, for the caller to compare.

        Raises:
            LinkError: whether it was set is not known: read it back.
            PumpRefused: the pump refused it (a value outside its range, naming the field); nothing changed.
        """
        raise PumpRefused("UNKNOWN_COMMAND", "demand dose: this driver's pumps have none", step="write demand dose")

    def service(self, action: str, **arguments: object) -> dict:
        """An emulated pump's tester control (SERVICE, docs/emulator.md: ``press_button``, ``advance``, ...), for the
        demo and for testers; a real pump has none.

        Returns: the pump's answer as it came.

        Raises:
            LinkError: whether it acted is not known; PumpRefused: the pump refused (UNKNOWN_COMMAND from a pump
            without tester controls).
        """
        raise PumpRefused("UNKNOWN_COMMAND", f"{action}: this driver's pumps have no tester controls", step=action)

    def unpair(self) -> str:
        """Make the pump forget this programmer, and forget its pair key here too (the session ends with it).

        Returns: the pump's serial.

        Raises:
            LinkError: whether the pump forgot it is not known; PumpRefused: the pump refused; LinkNotSecure: the link
            is not secure (a pump of the insecure version 1 has no pairing).
        """
        raise PumpRefused("UNKNOWN_COMMAND", "unpair: this driver's pumps have no pairing", step="unpair")

    @abstractmethod
    def close(self) -> None:
        """End the link. Never raises: closing a link that is already gone only tidies up."""

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

    Raises:
        LinkError: no driver opens ``url``, or the pump there cannot be reached (``step`` ``"connect"``).
        InputError: an option the driver cannot use (a trace file that cannot be written, say).
    """
    installed = entry_points(group=DRIVER_ENTRY_POINT_GROUP)
    if not installed:
        raise LinkError(f"no pump driver is installed (entry-point group {DRIVER_ENTRY_POINT_GROUP} is empty)",
                        step="connect")
    scheme = url_scheme(url)
    if scheme is not None:
        name, form = scheme, f"{scheme}:// URLs"
    elif SERIAL_DEVICE_PATH.fullmatch(url):
        name, form = SERIAL_DEVICE, "serial device paths"
    else:
        problem = ("no port given" if not url.strip() else
                   "it is neither a URL (SCHEME://...) nor a serial device path")
        raise LinkError(f"cannot open {url!r}: {problem}; {_installed_forms(installed)}", step="connect")
    if "\0" in url:
        raise LinkError(f"cannot open {url!r}: it holds a NUL character, which no port name does", step="connect")
    chosen = [entry for entry in installed if entry.name == name]
    if not chosen:
        raise LinkError(f"cannot open {url!r}: no pump driver is installed for {form}; {_installed_forms(installed)}",
                        step="connect")
    if len(chosen) > 1:
        claims = ", ".join(sorted(entry.value for entry in chosen))
        raise LinkError(f"cannot open {url!r}: {len(chosen)} installed drivers claim {form} ({claims}); "
                        "uninstall all but one", step="connect")
    return chosen[0].load()(url, **options)


def _installed_forms(installed: EntryPoints) -> str:
    """What the installed drivers open, for an error message: their URL schemes, then device paths."""
    names = sorted({entry.name for entry in installed})
    forms = ", ".join(f"{name}://" for name in names if name != SERIAL_DEVICE) or "no URL"
    if SERIAL_DEVICE in names:
        forms += " and serial device paths (/dev/tty*, /dev/cu.*, /dev/pts/N, /dev/serial/..., /dev/rfcomm*, COMn)"
    return f"the installed drivers open {forms}"

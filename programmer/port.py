"""The driver port: what the rest of the programmer asks of a pump, whatever the link.

``programmer`` never imports a concrete driver. Drivers register a factory under the entry-point group
``itb_programmer.drivers`` (see pyproject.toml) and ``open_driver(url)`` picks the first that accepts
the URL. Results are plain dataclasses so the CLI, the GUI and the tests read them the same way.

The central safety idea (from LoopKit's uncertain delivery and AndroidAPS' success-vs-enacted): a write
has four outcomes, and only ``VERIFIED`` means the pump runs the new program as read back from it.

What a driver may raise is part of the port, so that the command line and the application each handle
failures in one place (``programmer.errors``): ``LinkError`` when the pump cannot be reached or its answer
cannot be trusted, ``PumpRefused`` when it answered no, ``InputError`` for a program it was handed that is
not valid. Nothing else: an ``OSError`` of the link (``serial.SerialException`` is one; a device that
vanished, a path that does not exist, a peer that reset the connection) is turned by the driver into a
``LinkError`` naming the step and the port, never let out as it is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Callable

from programmer.errors import LinkError
from programmer.outcome import Outcome
from programmer.program import Drug, Program

ProgressCallback = Callable[[str, float], None]
"""Called as ``progress(step_name, fraction_done)`` with fraction_done in [0, 1]; must not block."""

DRIVER_ENTRY_POINT_GROUP = "itb_programmer.drivers"


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

    Every method raises only what its ``Raises:`` names (the module docstring): in particular no ``OSError``
    of the link, which the driver turns into a ``LinkError`` naming the step and the port.
    """

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
        """Returns: the program the pump runs, with its checksum. Changes nothing.

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

        Raises:
            InputError: ``program`` is not a valid program document; nothing was sent.
            LinkError: the link failed before staging began; nothing was changed on the pump.
            PumpRefused: the pump refused to stage it; nothing was changed on the pump.
            Whatever ``progress`` raises, before staging began (that cancels the write; after, it is ignored).

        Never raises once staging began: a link that fails from then on, or a refused commit, is an outcome.
        """

    @abstractmethod
    def read_events(self, progress: ProgressCallback | None = None) -> list[PumpEvent]:
        """Returns: the whole retained event log, oldest first. Changes nothing.

        Raises:
            LinkError: the pump could not be reached, or an answer is malformed.
            PumpRefused: the pump answered no.
            Whatever ``progress`` raises (reading is always safe to stop).
        """

    @abstractmethod
    def read_event_page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        """The pump's event ``total`` and its retained events with ``start <= index < start + count``,
        oldest first; ``count`` 0 asks only for the total. For reading just the newest part of a long
        log on a slow link (a span too large for one answer is read in pieces by the driver).

        Raises:
            LinkError: the pump could not be reached, or an answer is malformed.
            PumpRefused: the pump answered no.
        """

    @abstractmethod
    def set_clock(self, time: datetime) -> datetime:
        """Set the pump clock.

        Returns: the pump time read back afterwards.

        Raises:
            LinkError: the clock may or may not have been set.
            PumpRefused: the pump refused the time (then it was not set) or the read-back after it.
        """

    @abstractmethod
    def bolus(self, bolus_id: str, dose: float, duration_min: float) -> BolusOutcome:
        """Deliver a bolus once: a retry with the same id never delivers twice.

        Returns: the bolus as the pump reports it (``repeated`` when that id was already given).

        Raises:
            LinkError: whether it started is not known; ask again with the same id.
            PumpRefused: the pump did not start it.
        """

    @abstractmethod
    def cancel_bolus(self, bolus_id: str) -> BolusOutcome:
        """Stop a running bolus.

        Returns: the dose delivered and the bolus's final state.

        Raises:
            LinkError: whether it stopped is not known; read the status.
            PumpRefused: the pump answered no (no such bolus running, say).
        """

    @abstractmethod
    def refill(self, refill_id: str, withdrawn_ml: float, added_ml: float, drug: Drug | None) -> RefillOutcome:
        """Record a refill once per ``refill_id``; ``drug`` None keeps the pump's drug.

        Returns: the reservoir after it and the volume the pump had calculated (``repeated`` when that id was
        already recorded).

        Raises:
            LinkError: whether the pump recorded it is not known; resending the same id is safe.
            PumpRefused: the pump did not record it.
        """

    @abstractmethod
    def acknowledge_alarm(self, code: str) -> tuple[Alarm, ...]:
        """Returns: the alarms still active after acknowledging ``code``.

        Raises:
            LinkError: whether it was acknowledged is not known.
            PumpRefused: the pump answered no (no such alarm, say).
        """

    @abstractmethod
    def close(self) -> None:
        """End the link. Never raises: closing a link that is already gone only tidies up."""

    def __enter__(self) -> "PumpDriver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_driver(url: str, **options: object) -> PumpDriver:
    """Open a driver for ``url`` with the first registered factory (entry points) that accepts it.

    A factory raises ``LookupError`` for a URL it does not handle; ``options`` (timeouts, a trace
    callback, ...) are passed through.

    Raises:
        LinkError: no driver handles ``url``, or the pump there cannot be reached (``step`` ``"connect"``).
        InputError: an option the driver cannot use (a trace file that cannot be written, say).
    """
    factories = sorted(entry_points(group=DRIVER_ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    if not factories:
        raise LinkError("no pump driver is installed (entry-point group itb_programmer.drivers is empty)",
                        step="connect")
    for entry in factories:
        try:
            return entry.load()(url, **options)
        except LookupError:
            continue
    raise LinkError(f"no installed driver can open {url!r}", step="connect")

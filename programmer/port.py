"""The driver port: what the rest of the programmer asks of a pump, whatever the link.

``programmer`` never imports a concrete driver. Drivers register a factory under the entry-point group
``itb_programmer.drivers`` (see pyproject.toml) and ``open_driver(url)`` picks the first that accepts
the URL. Results are plain dataclasses so the CLI, the GUI and the tests read them the same way.

The central safety idea (from LoopKit's uncertain delivery and AndroidAPS' success-vs-enacted): a write
has four outcomes, and only ``VERIFIED`` means the pump runs the new program as read back from it.
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
    """One open link to one pump. Calls block; the GUI runs them in a worker thread."""

    events_per_read: int
    """The most events one exchange with the pump returns (the wire protocol's page, set by the driver): the
    size in which the newest part of the log is read, so the domain never restates a protocol figure."""

    @abstractmethod
    def identify(self) -> PumpIdentity: ...

    @abstractmethod
    def read_status(self) -> PumpStatus: ...

    @abstractmethod
    def read_program(self) -> ActiveProgram: ...

    @abstractmethod
    def write_program(self, program: Program, progress: ProgressCallback | None = None) -> WriteOutcome:
        """Stage, check the staged checksum, commit, read back, compare. Never raises for link faults
        after staging began: the outcome says what the pump runs."""

    @abstractmethod
    def read_events(self, progress: ProgressCallback | None = None) -> list[PumpEvent]:
        """The whole retained event log, oldest first."""

    @abstractmethod
    def read_event_page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        """The pump's event ``total`` and its retained events with ``start <= index < start + count``,
        oldest first; ``count`` 0 asks only for the total. For reading just the newest part of a long
        log on a slow link (a span too large for one answer is read in pieces by the driver)."""

    @abstractmethod
    def set_clock(self, time: datetime) -> datetime:
        """Set the pump clock and return the pump time read back afterwards."""

    @abstractmethod
    def bolus(self, bolus_id: str, dose: float, duration_min: float) -> BolusOutcome:
        """Deliver a bolus once: a retry with the same id never delivers twice."""

    @abstractmethod
    def cancel_bolus(self, bolus_id: str) -> BolusOutcome: ...

    @abstractmethod
    def refill(self, refill_id: str, withdrawn_ml: float, added_ml: float, drug: Drug | None) -> RefillOutcome: ...

    @abstractmethod
    def acknowledge_alarm(self, code: str) -> tuple[Alarm, ...]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "PumpDriver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_driver(url: str, **options: object) -> PumpDriver:
    """Open a driver for ``url`` with the first registered factory (entry points) that accepts it.

    A factory raises ``LookupError`` for a URL it does not handle; ``options`` (timeouts, a trace
    callback, ...) are passed through.
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

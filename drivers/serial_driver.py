"""The serial pump driver: the programmer's PumpDriver port over the wire protocol (docs/protocol.md).

Opened from a pyserial URL or a serial device path. Each method is one or a few request/response exchanges
through ``drivers.transaction.Link`` (seq numbers, timeouts, retries, reconnect). Statuses map the same
way everywhere: OK is the result; an answer saying no becomes ``PumpRefused`` with the status name,
message and field; a link that fails after every retry becomes ``LinkError`` naming the step (and, when
the port itself failed, the port: the transport and the transaction layer let no ``OSError`` out), as the
port's contract (``programmer.port.PumpDriver``) asks.

``write_program`` is the safety-critical part. It follows the two-phase write (validate, stage, check
the staged checksum, commit, read back, compare) and decides its outcome only from what it reads back
from the pump: it never reports VERIFIED without a read-back that matched, and a commit whose answer
was lost ends VERIFIED, UNCHANGED, MISMATCH or UNCERTAIN by what the pump then reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from protocol import Command, Status
from protocol.codes import (
    BACKOFF_INITIAL_S,
    BITS_PER_BYTE,
    MAX_EVENTS_PER_COMPACT_READ,
    MAX_EVENTS_PER_READ,
    MAX_RETRIES,
    RESPONSE_TURNAROUND_S,
)
from protocol.compact import ENCODING as COMPACT
from protocol.frame import MAX_WIRE_FRAME
from drivers.answers import (BOLUS_STATES, Answer, alarms, bolus_kind, bolus_outcome, bolus_state, demand_settings,
                             event, line_state)
from drivers.event_cache import EventCache
from drivers.trace import TraceSink, WireTrace, code_name
from drivers.transaction import Link
from drivers.transport import Transport
from protocol.pairing import check_code
from programmer.clock import pump_clock_reading
from programmer.errors import InputError, LinkError, LinkNotSecure, PumpRefused
from programmer.pairing_keys import PairingKeys, load_pairing_keys
from programmer.outcome import Outcome
from programmer.port import (ActiveProgram, Alarm, BolusOutcome, BridgeRequest, DemandDose, DemandSettings,
                             ProgressCallback, PumpDriver, PumpEvent, PumpIdentity, PumpStatus, RefillOutcome,
                             WriteOutcome)
from programmer.program import FORMAT, Drug, Program, program_from_data

DEFAULT_BAUDRATE = 9600
"""Line rate assumed for timeouts (and set on real ports). Conservative: a faster link only answers sooner."""

CLIENT_NAME = "itb-programmer serial driver"

ANSWER_BYTES = {
    Command.IDENTIFY: 512,
    Command.READ_STATUS: 1024,
    Command.READ_PROGRAM: 1024,
    Command.STAGE_PROGRAM: 192,
    Command.COMMIT_PROGRAM: 192,
    Command.READ_EVENTS: 3072,
    Command.SET_CLOCK: 192,
    Command.BOLUS: 320,
    Command.CANCEL_BOLUS: 192,
    Command.REFILL: 576,
    Command.BOLUS_STATUS: 384,
    Command.SET_DEMAND: 256,
    Command.READ_DEMAND: 256,
    Command.ACK_ALARM: 640,
    Command.SET_LOW_ALARM: 96,
    Command.UNPAIR: 128,
    Command.SERVICE: 640,
}
"""Usual wire size of each command's answer, for its timeout. Larger answers still arrive: the wait
stretches while bytes flow (drivers/transaction.py)."""

DEAD_VOLUME_FIGURES = ("tubing_ml", "catheter_ml_per_cm", "catheter_cm_min", "catheter_cm_max", "priming_ml_per_hour",
                      "max_bolus_ml_per_hour")
"""IDENTIFY's figures for the tubing and catheter and the boluses through them, None from a pump that lacks them."""

WRITE_STEPS = (
    ("validate", 0.05),
    ("read active program", 0.10),
    ("stage", 0.25),
    ("verify staged checksum", 0.05),
    ("commit", 0.20),
    ("read back", 0.30),
    ("compare", 0.05),
)
"""write_program's steps and the slice of the progress bar each owns."""


def open_serial_driver(url: str, **options: Any) -> "SerialDriver":
    """Entry-point factory (group ``itb_programmer.drivers``): open ``url`` and say HELLO.

    ``open_driver`` hands it the forms it is registered for in pyproject.toml (a serial device path and
    the pyserial URL schemes listed there). Raises LinkError when the pump cannot be reached or speaks
    another protocol version, InputError (field ``trace``) for a trace file that cannot be written.
    """
    return SerialDriver(url, **options)


class SerialDriver(PumpDriver):
    """One open link to one pump over a pyserial URL.

    Options: ``baudrate`` (default 9600; sets the line rate of real ports and the timeouts on every
    link), ``trace`` (a file path or a callable taking one line: a timestamped hex wire trace),
    ``max_retries`` (0..3 resends of an unanswered request), ``client`` (the name given in HELLO),
    ``turnaround_s`` and ``backoff_s`` (the pump's allowance in every answer timeout, default 0.5 s, and
    the first pause before a resend, default 0.1 s: docs/protocol.md section 10; shorter ones only for
    a peer known to answer sooner, such as the emulator on loopback in tests), ``compact`` (default True:
    offer the compact encoding of event pages in HELLO; False says HELLO as a driver built before it did).

    The link is secure (protocol version 2, docs/protocol.md section 6) with the pair key ``keys`` holds for the
    pump (default: ``programmer.pairing_keys.load_pairing_keys()``, the user's store or ``$ITB_PAIRING_KEYS``);
    ``pairing_code`` pairs first, with the code the pump shows. A pump that speaks only the insecure version 1
    is read, but nothing that changes it is sent (LinkNotSecure) unless ``allow_insecure_link``.
    ``trace_plaintext`` also writes each sealed payload, opened, to the trace (patient data; off by default).

    Each event is read over the wire once per session: the events read are kept by index
    (``drivers.event_cache``) and a page asks the pump only for the indices not yet read.
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        trace: TraceSink | WireTrace = None,
        max_retries: int = MAX_RETRIES,
        client: str = CLIENT_NAME,
        turnaround_s: float = RESPONSE_TURNAROUND_S,
        backoff_s: float = BACKOFF_INITIAL_S,
        compact: bool = True,
        keys: PairingKeys | None = None,
        pairing_code: str | None = None,
        allow_insecure_link: bool = False,
        trace_plaintext: bool = False,
    ) -> None:
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError(f"baudrate must be a positive integer, got {baudrate!r}")
        if pairing_code is not None:
            try:
                check_code(pairing_code)
            except (ValueError, TypeError) as exc:
                raise InputError([("pairing_code", f"{exc}; nothing was sent")], step="pair") from None
        keys = keys if keys is not None else load_pairing_keys()
        self.url = url
        self.allow_insecure_link = allow_insecure_link
        write_timeout_s = RESPONSE_TURNAROUND_S + MAX_WIRE_FRAME * BITS_PER_BYTE / baudrate
        transport = Transport(url, baudrate, write_timeout_s)
        trace = trace if isinstance(trace, WireTrace) else _open_trace(trace)
        self._events = EventCache()
        try:
            self._link = Link(transport, client=client, trace=trace, max_retries=max_retries,
                              turnaround_s=turnaround_s, backoff_s=backoff_s, encodings=(COMPACT,) if compact else (),
                              keys=keys, trace_plaintext=trace_plaintext)
            if pairing_code is not None:
                self._link.pair(pairing_code)
            self._link.connect()
        except BaseException:
            transport.close()
            trace.close()
            raise

    @property
    def events_per_read(self) -> int:  # type: ignore[override]  # the port's attribute, set by the session here
        """16 events a page, or 64 in a session that agreed the compact encoding (docs/protocol.md, READ_EVENTS)."""
        return MAX_EVENTS_PER_COMPACT_READ if self._link.encoding == COMPACT else MAX_EVENTS_PER_READ

    @property
    def encoding(self) -> str:
        """The encoding the current session agreed in HELLO: ``compact-1`` or ``json``."""
        return self._link.encoding

    @property
    def secure(self) -> bool:  # type: ignore[override]  # the port's attribute, known once the pump answered
        """Whether the link is authenticated and encrypted (a pump that speaks protocol version 2)."""
        return bool(self._link.secure)

    @property
    def programmer_id(self) -> str:  # type: ignore[override]  # the port's attribute, from the keys
        """The id this programmer gives pumps (from its keys)."""
        return self._link.programmer_id

    def unpair(self) -> str:
        """Ask the pump to forget this programmer (UNPAIR, sealed), then forget its key here too. Returns the
        pump's serial. The session ends with it: a later request would need pairing again."""
        self._require_secure("unpair")
        serial = str((self._link.pump or {}).get("serial"))
        answer = self._call("unpair", Command.UNPAIR, {})
        if answer.text("unpaired") != self.programmer_id:
            raise LinkError(f"unpair: the pump unpaired {answer.text('unpaired')!r}, not this programmer "
                            f"({self.programmer_id})", step="unpair", field="unpaired")
        self._link.end_session()
        self._link.keys.forget(serial)
        return serial

    def _require_secure(self, step: str) -> None:
        """LinkNotSecure, before anything is sent, for a change over an insecure link that was not allowed."""
        if not self._link.secure and not self.allow_insecure_link:
            raise LinkNotSecure(
                f"{step}: the link to {self.url} is not secure: the pump speaks protocol version 1 (frames in clear, "
                "not authenticated), so nothing that changes it is sent; allow an insecure link explicitly only to "
                "debug the protocol with an emulator", step=step)

    # -- reads -----------------------------------------------------------------------------------

    def identify(self) -> PumpIdentity:
        answer = self._call("identify", Command.IDENTIFY, {})
        self._events.for_pump(answer.text("model"), answer.text("serial"))
        self._events.set_log_size(answer.integer("event_log_size"))
        return PumpIdentity(
            model=answer.text("model"),
            serial=answer.text("serial"),
            firmware=answer.text("firmware"),
            capacity_ml=answer.number("capacity_ml"),
            min_rate_ml_per_day=answer.number("min_rate_ml_per_day"),
            max_rate_ml_per_day=answer.number("max_rate_ml_per_day"),
            max_steps_per_day=answer.integer("max_steps_per_day"),
            max_cycle_days=answer.integer("max_cycle_days"),
            event_log_size=answer.integer("event_log_size"),
            **{key: answer.optional_number(key) for key in DEAD_VOLUME_FIGURES},
        )

    def read_status(self) -> PumpStatus:
        answer = self._call("read status", Command.READ_STATUS, {})
        battery, reservoir = answer.object("battery"), answer.object("reservoir")
        return PumpStatus(
            pump_time=answer.time("pump_time"),
            battery_status=battery.choice("status", ("ok", "eri", "eos")),
            battery_percent=battery.number("percent"),
            volume_ml=reservoir.number("volume_ml"),
            low_alarm_ml=reservoir.number("low_alarm_ml"),
            capacity_ml=reservoir.number("capacity_ml"),
            alarms=alarms(answer),
            program_checksum=answer.text("program_checksum"),
            cycle_phase_min=answer.number("cycle_phase_min"),
            bolus=bolus_state(answer),
            line=line_state(answer),
        )

    def read_program(self) -> ActiveProgram:
        """The active program. Its checksum is recomputed here; a pump whose document and checksum
        disagree is a failed read (LinkError), never shown as if it were fine."""
        answer = self._call("read program", Command.READ_PROGRAM, {})
        checksum = answer.text("checksum")
        therapy = answer.object("therapy").data
        drug_data = answer.optional_object("drug")
        if drug_data is None:
            return ActiveProgram(drug=None, therapy=therapy, checksum=checksum, program=None)
        try:
            program = program_from_data({"format": FORMAT, "drug": drug_data.data, "therapy": therapy})
        except InputError as exc:
            raise LinkError(f"read program: the pump's program is not a valid document ({exc})", step="read program",
                            field=exc.field) from None
        if program.checksum() != checksum:
            raise LinkError(
                f"read program: the pump reports checksum {checksum} but its program's checksum is "
                f"{program.checksum()}; the read cannot be trusted", step="read program", field="checksum"
            )
        return ActiveProgram(drug=program.drug, therapy=therapy, checksum=checksum, program=program)

    def read_event_page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        """The page from the events read in this session, fetching only the indices not read yet (``count`` 0
        always asks the pump, for its total now). Bounds are the pump's to check, so a bad one is asked too."""
        pump = self._link.pump or {}
        self._events.for_pump(str(pump.get("model")), str(pump.get("serial")))
        if start < 0 or not 0 <= count <= self.events_per_read:
            return self._fetch_event_page(start, count)
        wanted = self._events.plan(start, count)
        if wanted is not None:
            total, events = self._fetch_event_page(*wanted)
            self._events.learn(*wanted, total, events)
        return self._events.page(start, count)

    def _fetch_event_page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        """READ_EVENTS; an answer the pump says would not fit in a frame is asked for in halves."""
        try:
            page = self._call("read events", Command.READ_EVENTS, {"start": start, "count": count})
        except PumpRefused as refused:
            if refused.status != Status.FRAME_TOO_LARGE.name or count <= 1:
                raise
            half = count // 2
            total, older = self._fetch_event_page(start, half)
            total, newer = self._fetch_event_page(start + half, count - half)
            return total, older + newer
        return page.integer("total"), [event(item) for item in page.objects("events")]

    # -- writes ----------------------------------------------------------------------------------

    def write_program(self, program: Program, progress: ProgressCallback | None = None) -> WriteOutcome:
        """Validate, read the old program, stage, check the staged checksum, commit, read back, compare.

        Raises (nothing changed on the pump) for an invalid program (InputError), a link failure before
        staging (LinkError) and a refused stage (PumpRefused). From the stage on, link faults never
        raise: the outcome says what the pump runs, as read back. A progress callback that raises
        cancels the write only before staging; after that the write runs to its verified outcome.
        """
        steps = _Steps(progress, WRITE_STEPS)
        with steps("validate"):
            self._require_secure("write program")
            program = _validated(program)
            wanted = program.checksum()
        with steps("read active program"):
            old = self.read_program()
        steps.shield()
        try:
            with steps("stage"):
                staged = self._call("stage program", Command.STAGE_PROGRAM, {"program": program.model_dump(mode="json")})
                staged_checksum = staged.text("checksum")
        except LinkError as exc:
            return self._settle(steps, old, program, f"staging did not complete ({exc})", None)
        with steps("verify staged checksum"):
            if staged_checksum != wanted:
                mismatch = (f"the pump staged a program with checksum {staged_checksum}, not {wanted}: it understood "
                            "a different program, so it was not committed")
                return self._settle(steps, old, program, mismatch, staged_checksum)
        problem = None
        try:
            with steps("commit"):
                self._call("commit program", Command.COMMIT_PROGRAM, {"checksum": wanted})
        except (LinkError, PumpRefused) as exc:
            problem = f"the commit failed ({exc})"
        return self._settle(steps, old, program, problem, staged_checksum)

    def _settle(self, steps: "_Steps", old: ActiveProgram, program: Program, problem: str | None,
                staged_checksum: str | None) -> WriteOutcome:
        """Read the pump back and report what it runs: the only source of a write's outcome."""
        wanted = program.checksum()
        prefix = f"{problem}; " if problem else ""
        try:
            with steps("read back"):
                active = self.read_program()
                status_checksum = self.read_status().program_checksum
        except (LinkError, PumpRefused) as exc:
            return WriteOutcome(
                Outcome.UNCERTAIN,
                f"{prefix}the pump could not be read back ({exc}). It runs either its old program ({old.checksum}) "
                f"or the new one ({wanted}), never a mix: reconnect and read it before doing anything else",
                None, staged_checksum,
            )
        with steps("compare"):
            if active.checksum == wanted == status_checksum and active.program == program:
                return WriteOutcome(Outcome.VERIFIED, f"{prefix}read back: the pump runs program {wanted}, "
                                    "equal to what was asked", active, staged_checksum)
            if active.checksum == old.checksum == status_checksum and _same(active, old):
                return WriteOutcome(Outcome.UNCHANGED, f"{prefix}read back: the pump still runs its old program "
                                    f"{old.checksum}; nothing was changed", active, staged_checksum)
            return WriteOutcome(
                Outcome.MISMATCH,
                f"{prefix}read back: the pump runs program {active.checksum} (status says {status_checksum}), which is "
                f"neither the old program ({old.checksum}) nor the one asked for ({wanted})",
                active, staged_checksum,
            )

    def set_clock(self, time: datetime) -> datetime:
        """Set the pump clock to ``time`` (to the second; an aware time is first converted to this
        computer's local time, the pump has no time zone) and return the clock read back afterwards."""
        self._require_secure("set clock")
        self._call("set clock", Command.SET_CLOCK, {"time": pump_clock_reading(time).isoformat()})
        return self.read_status().pump_time

    def bolus(self, bolus_id: str, dose: float, duration_min: float) -> BolusOutcome:
        """Start a bolus identified by ``bolus_id``. Resends and reconnects reuse the same id, so the pump
        delivers it once; a call repeated with the same id (after a lost answer) answers ``repeated``."""
        return self._start_bolus("bolus", {"bolus_id": bolus_id, "dose": dose, "duration_min": duration_min})

    def prime(self, bolus_id: str, catheter_cm: float, volume_ml: float, reason: str,
              segments_cm: tuple[float, ...] = ()) -> BolusOutcome:
        """BOLUS of kind ``prime``: the pump checks ``volume_ml`` against its own tubing and catheter figure."""
        request = {"bolus_id": bolus_id, "kind": "prime", "reason": reason, "catheter_cm": catheter_cm,
                   "volume_ml": volume_ml}
        if segments_cm:
            request["catheter_segments_cm"] = list(segments_cm)
        return self._start_bolus("prime", request)

    def bridge(self, bolus_id: str, volume_ml: float, concentration_per_ml: float) -> BolusOutcome:
        """BOLUS of kind ``bridge``: the program runs at the old concentration's mL rates until ``volume_ml`` moved."""
        return self._start_bolus("bridge", {"bolus_id": bolus_id, "kind": "bridge", "volume_ml": volume_ml,
                                            "concentration_per_ml": concentration_per_ml})

    def _start_bolus(self, step: str, request: dict) -> BolusOutcome:
        """One BOLUS request (its ``kind`` therapeutic when the request names none, as a pump before kinds reads it)."""
        self._require_secure(step)
        kind = request.get("kind", "therapeutic")
        return bolus_outcome(self._call(step, Command.BOLUS, request), request["bolus_id"], kind)

    def bolus_status(self, bolus_id: str) -> BolusOutcome | None:
        """BOLUS_STATUS: never acts, so it is asked freely, over any link, after a link failure."""
        answer = self._call("bolus status", Command.BOLUS_STATUS, {"bolus_id": bolus_id})
        if not answer.flag("known"):
            return None
        return bolus_outcome(answer, bolus_id, None)

    def cancel_bolus(self, bolus_id: str) -> BolusOutcome:
        """Stop a bolus. The pump answers the bolus's ``kind``, the dose delivered, the mL the motor moved for it
        (``volume_ml``) and the final state, so the outcome's ``dose`` and ``delivered`` are the dose actually
        delivered, ``volume_ml`` the pump's mL, and ``repeated`` is False. A pump built before ``kind`` and
        ``volume_ml`` (docs/protocol.md, CANCEL_BOLUS) answers neither: its bolus is therapeutic and its mL is the
        dose at the active drug's concentration (read from the pump; exact for every kind but a bridge, whose dose is
        at the old concentration)."""
        self._require_secure("cancel bolus")
        answer = self._call("cancel bolus", Command.CANCEL_BOLUS, {"bolus_id": bolus_id})
        delivered = answer.number("delivered")
        volume_ml = answer.optional_number("volume_ml")
        if volume_ml is not None and volume_ml < 0:
            raise answer.malformed("volume_ml", f"{volume_ml!r} mL is below 0")
        if volume_ml is None:
            drug = self.read_program().drug
            volume_ml = 0.0 if drug is None else delivered / drug.concentration_per_ml
        return BolusOutcome(
            bolus_id=answer.text("bolus_id"),
            dose=delivered,
            volume_ml=volume_ml,
            state=answer.choice("state", BOLUS_STATES),
            repeated=False,
            kind=bolus_kind(answer),
            delivered=delivered,
        )

    def refill(self, refill_id: str, withdrawn_ml: float, added_ml: float, drug: Drug | None,
               bridge: BridgeRequest | None = None) -> RefillOutcome:
        """Record a refill once per ``refill_id`` (a repeat answers ``repeated``); ``drug`` None keeps the drug."""
        self._require_secure("refill")
        request: dict = {
            "refill_id": refill_id,
            "withdrawn_ml": withdrawn_ml,
            "added_ml": added_ml,
            "drug": None if drug is None else drug.model_dump(mode="json"),
        }
        if bridge is not None:
            request["bridge"] = {"bolus_id": bridge.bolus_id, "volume_ml": bridge.volume_ml}
        answer = self._call("refill", Command.REFILL, request)
        return RefillOutcome(
            refill_id=answer.text("refill_id"),
            volume_ml=answer.number("volume_ml"),
            calculated_ml=answer.number("calculated_ml"),
            repeated=answer.flag("repeated"),
            bridge=None if bridge is None else bolus_outcome(answer.object("bridge"), bridge.bolus_id, "bridge"),
        )

    def acknowledge_alarm(self, code: str) -> tuple[Alarm, ...]:
        self._require_secure("acknowledge alarm")
        return alarms(self._call("acknowledge alarm", Command.ACK_ALARM, {"code": code}))

    def set_low_alarm(self, low_alarm_ml: float) -> float:
        """Send SET_LOW_ALARM, then read the threshold back by READ_STATUS: the status is the pump's memory, not
        the answer to the write."""
        self._require_secure("set low alarm")
        self._call("set low alarm", Command.SET_LOW_ALARM, {"low_alarm_ml": low_alarm_ml})
        return self.read_status().low_alarm_ml

    def read_demand(self) -> DemandSettings:
        return demand_settings(self._call("read demand dose", Command.READ_DEMAND, {}))

    def write_demand(self, demand: DemandDose) -> DemandSettings:
        """Send SET_DEMAND, then read the settings back by READ_DEMAND: the caller compares what the pump holds,
        never the answer to the write."""
        self._require_secure("write demand dose")
        request: dict = {"enabled": demand.enabled}
        if demand.enabled:
            request |= {"dose": demand.dose, "duration_min": demand.duration_min, "lockout_min": demand.lockout_min,
                        "max_per_day": demand.max_per_day}
        self._call("write demand dose", Command.SET_DEMAND, request)
        return self.read_demand()

    def service(self, action: str, **arguments: object) -> dict:
        return dict(self._call(action.replace("_", " "), Command.SERVICE, {"action": action, **arguments}).data)

    def close(self) -> None:
        self._link.close()
        self._link.trace.close()

    # -- plumbing --------------------------------------------------------------------------------

    def _call(self, step: str, command: Command, payload: dict) -> Answer:
        """One exchange: the OK answer's payload, or PumpRefused naming the status the pump gave."""
        answer = self._link.request(step, command, payload, ANSWER_BYTES[command])
        if answer.status == Status.OK:
            return Answer(step, answer.payload)
        message = answer.payload.get("error") or "no message"
        if answer.status == Status.INTERNAL:
            message += " (the pump failed unexpectedly and may or may not have acted: read its state)"
        field = answer.payload.get("field")
        raise PumpRefused(code_name(Status, answer.status), f"{step}: {message}", step=step,
                          field=field if isinstance(field, str) else None)


def _validated(program: Program) -> Program:
    """Round-trip the program through the document validator, as the pump will, before sending it."""
    if not isinstance(program, Program):
        raise InputError([("", f"expected a Program, got {type(program).__name__}")], step="validate")
    checked = program_from_data(program.model_dump(mode="json"))
    if checked != program:
        raise InputError([("", "the program does not survive a round trip through its JSON document")],
                         step="validate")
    return checked


def _open_trace(sink: TraceSink) -> WireTrace:
    """The trace the ``trace`` option asks for; a file that cannot be opened is bad input (nothing was sent)."""
    try:
        return WireTrace(sink)
    except OSError as exc:
        raise InputError([("trace", f"cannot write {sink}: {exc.strerror or exc}")], step="connect") from None


def _same(a: ActiveProgram, b: ActiveProgram) -> bool:
    return a.drug == b.drug and a.therapy == b.therapy


class _Steps:
    """Named steps that each own a slice of the progress bar; reports their start and end.

    After ``shield()`` an exception from the callback is ignored: a GUI bug must not leave a write's
    outcome unknown once something may have changed on the pump.
    """

    def __init__(self, callback: ProgressCallback | None, slices: tuple[tuple[str, float], ...]) -> None:
        self._callback = callback
        self._slices: dict[str, tuple[float, float]] = {}
        done = 0.0
        for name, size in slices:
            self._slices[name] = (done, min(1.0, done + size))
            done += size
        self._shielded = False

    def shield(self) -> None:
        self._shielded = True

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start, end = self._slices[name]
        self._report(name, start)
        yield
        self._report(name, end)

    def _report(self, name: str, fraction: float) -> None:
        if self._callback is None:
            return
        if not self._shielded:
            self._callback(name, fraction)
            return
        try:
            self._callback(name, fraction)
        except Exception:  # noqa: BLE001 - see the class docstring
            pass

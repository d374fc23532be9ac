"""What each action of the control channel does to the running pump, and the ``state`` it answers with.

Why apart from the pump's commands: a real pump has no such channel. These are the test bench's hands on the
simulation (the battery drained, the motor blocked, time run forward, the link made bad), so they change the pump
only as the physical cause would, through the pump's own methods, and the pump logs only what it would log of
that cause (an alarm raised, a demand bolus): the channel itself leaves no trace in the event log. They are run by
the server's one thread between two wire requests (``emulator/control.py``), the same place every pump command
runs, so an action never lands inside a command half done.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emulator.clock import MAX_SPEED
from emulator.control_client import ControlError
from emulator.events import log_event
from emulator.faults import FaultInjector, FaultSpec
from emulator.named_states import load_named, save_named
from emulator.pairing_window import SIGNAL_WINDOW_S, window_seconds
from emulator.pump import Pump, PumpError
from emulator.service import Service
from emulator.state import StateFileError, factory_new
from protocol.codes import Status

_VALUE_STATUSES = (Status.BAD_ARGUMENT, Status.OUT_OF_RANGE)


@dataclass
class ControlActions:
    """The pump, its link and its memory as the control channel reaches them. ``scenario`` reports a scenario being
    played (``emulator/timeline.py``), shown in ``state``."""

    pump: Pump
    service: Service
    faults: FaultInjector
    scenario: Callable[[], dict] | None = None

    def run(self, request: dict) -> dict:
        """Carry out one request (its ``token`` already checked and removed) and return the answer's ``result``;
        ControlError says why not."""
        action = request.pop("action", None)
        handlers = self.handlers()
        if not isinstance(action, str) or action not in handlers:
            raise ControlError("bad_request", f"action {action!r} is not one of {', '.join(handlers)}", "action")
        handler, kinds = handlers[action]
        arguments = _arguments(request, kinds)
        self.pump.sync()
        try:
            return handler(**arguments)
        except PumpError as refusal:
            raise ControlError("bad_value" if refusal.status in _VALUE_STATUSES else "refused", refusal.message,
                               refusal.field) from None
        finally:
            self.pump.flush()

    def handlers(self) -> dict[str, tuple[Callable[..., dict], dict[str, tuple[type, bool]]]]:
        """Each action's method and its arguments' types (True: required)."""
        return {
            "state": (self._state, {}),
            "advance": (self._advance, {"hours": (float, True)}),
            "speed": (self._speed, {"speed": (float, True)}),
            "battery": (self._battery, {"percent": (float, True)}),
            "stall": (lambda: self._stall(True), {}),
            "clear-stall": (lambda: self._stall(False), {}),
            "press-button": (self._press_button, {}),
            "open-pairing": (self._open_pairing, {"seconds": (int, False)}),
            "faults": (self._faults, {"spec": (str, True)}),
            "reset-factory": (self._reset_factory, {"confirm": (bool, True)}),
            "save": (self._save, {"name": (str, True)}),
            "load": (self._load, {"name": (str, True)}),
        }

    # -- the answer every action gives -----------------------------------------------------------------

    def state(self) -> dict:
        """The pump at a glance: READ_STATUS's payload and what the bench set (speed, stall, faults, pairing window,
        scenario)."""
        window = self.service.window
        seconds_left = None if self.service.insecure else window.seconds_left
        drug = self.pump.state.drug
        return {**self.pump.status(), "model": self.pump.state.model, "serial": self.pump.state.serial,
                "dose_unit": None if drug is None else drug.dose_unit,
                "speed": self.pump.clock.speed, "stalled": self.pump.state.stalled,
                "faults": {"spec": self.faults.spec.text(), "seed": self.faults.seed},
                "pairing_window": {"open": seconds_left is not None, "seconds_left": seconds_left},
                "scenario": None if self.scenario is None else self.scenario()}

    def _answer(self, **extra: object) -> dict:
        return {"state": self.state(), **extra}

    # -- the actions ---------------------------------------------------------------------------------------

    def _state(self) -> dict:
        return self._answer()

    def _advance(self, hours: float) -> dict:
        self.pump.advance_hours(hours)
        return self._answer()

    def _speed(self, speed: float) -> dict:
        if not 0 < speed <= MAX_SPEED:
            raise ControlError("bad_value", f"speed {speed:g} is outside (0, {MAX_SPEED:g}] simulated seconds per "
                                            "real second", "speed")
        self.pump.clock.speed = speed  # the time before it was run at the old speed by the sync above
        return self._answer()

    def _battery(self, percent: float) -> dict:
        self.pump.set_battery(percent)
        return self._answer()

    def _stall(self, stalled: bool) -> dict:
        self.pump.set_stalled(stalled)
        return self._answer()

    def _press_button(self) -> dict:
        press = self.pump.press_button()
        if not press["granted"]:
            raise ControlError("refused", f"the pump gave no demand dose: {press['reason']}"
                               + (f" (next allowed {press['next_allowed']})" if press["next_allowed"] else ""))
        return self._answer(press=press)

    def _open_pairing(self, seconds: int = SIGNAL_WINDOW_S) -> dict:
        if self.service.insecure:
            raise ControlError("refused", "an --insecure pump (protocol version 1) has no pairing window")
        try:
            self.service.window.open(window_seconds(seconds))
        except ValueError as exc:
            raise ControlError("bad_value", str(exc), "seconds") from None
        return self._answer()

    def _faults(self, spec: str) -> dict:
        try:
            self.faults.replace(FaultSpec.parse(spec))
        except ValueError as exc:
            raise ControlError("bad_value", str(exc), "spec") from None
        return self._answer()

    def _reset_factory(self, confirm: bool) -> dict:
        if not confirm:
            raise ControlError("bad_value", "confirm must be true: a factory reset wipes the pump's memory", "confirm")
        old = self.pump.state
        self._end_session()
        new = factory_new(old.model, old.pump_time)
        new.serial, new.paired = old.serial, old.paired
        log_event(new, new.pump_time, "power_on", factory_new=True)
        self.pump.swap_state(new)
        return self._answer()

    def _save(self, name: str) -> dict:
        path = self._saved(lambda: save_named(self.pump.state, self._state_file(), name))
        return self._answer(file=str(path))

    def _load(self, name: str) -> dict:
        state = self._saved(lambda: load_named(self._state_file(), name))
        self._end_session()
        self.pump.swap_state(state)
        return self._answer()

    # -- helpers ---------------------------------------------------------------------------------------------

    def _end_session(self) -> None:
        """Every programmer's session ends, as at a restart: it must HELLO the pump it now finds."""
        self.service.sessions.end_all("restart")

    def _state_file(self) -> Path:
        if self.pump.path is None:
            raise ControlError("refused", "this pump keeps no state file, so no named states either")
        return self.pump.path

    @staticmethod
    def _saved(call: Callable):
        """Run a save or load of a named state, its failures worded as the channel's errors."""
        try:
            return call()
        except ValueError as exc:
            raise ControlError("bad_value", str(exc), "name") from None
        except FileNotFoundError as exc:
            raise ControlError("refused", str(exc), "name") from None
        except StateFileError as exc:
            raise ControlError("refused", f"the saved state cannot be used: {exc}", "name") from None
        except OSError as exc:
            raise ControlError("refused", f"the named state cannot be written or read: {exc.strerror or exc}",
                               "name") from None


def _arguments(request: dict, kinds: dict[str, tuple[type, bool]]) -> dict:
    """The request's arguments, type-checked: exactly the keys of ``kinds`` (those marked True required)."""
    for name in request:
        if name not in kinds:
            raise ControlError("bad_request", f"unknown field {name!r}", name)
    arguments: dict[str, object] = {}
    for name, (kind, required) in kinds.items():
        if name not in request:
            if required:
                raise ControlError("bad_request", f"required field {name!r} is missing", name)
            continue
        value = request[name]
        if kind is float and not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value):
            arguments[name] = float(value)
        elif isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            arguments[name] = value
        else:
            wanted = {float: "a number", int: "a whole number", str: "a string", bool: "true or false"}[kind]
            raise ControlError("bad_request", f"{name} must be {wanted}, got {value!r}", name)
    return arguments

"""The pump's pairing window: when, and how often, a programmer may pair with it over its one-time code.

Why a window and a count: the code has six digits, and each PAIR_START lets whoever sends it test one guess
(protocol/pairing.py says why no more than one). The pump therefore pairs only while someone in front of it
has opened the window, on a fresh code each time, and takes at most PAIRING_ATTEMPTS attempts in it: the odds
of a guess are a few in a million per opening. The code is printed for the person at the pump (standard
output, one line) and never logged: the events say only that a window opened and why it closed.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from emulator.pump import Pump, PumpError
from protocol.codes import PAIRING_ATTEMPTS, Status
from protocol.pairing import CONFIRM_BYTES, MESSAGE_BYTES, PairingFailed, PumpPairing, new_code
from protocol.secure import PROGRAMMER_ID

MAX_WINDOW_S = 600
"""Longest pairing window, seconds (SERVICE open_pairing and --pairing-window take 1..MAX_WINDOW_S)."""
SIGNAL_WINDOW_S = 120
"""The window SIGUSR1 opens."""


def pairing_line(code: str, seconds: int) -> str:
    """The line the emulator prints when a window opens (docs/emulator.md): emulator.launch parses it."""
    return f"pairing code {code} for {seconds} s"


def hex_field(payload: dict, name: str, size: int) -> bytes:
    """``payload[name]`` as bytes: exactly ``2 * size`` lower-case hex digits, else BAD_ARGUMENT naming it."""
    text = payload.get(name)
    if not isinstance(text, str) or len(text) != 2 * size or text != text.lower():
        raise PumpError(Status.BAD_ARGUMENT, f"{name} must be {2 * size} lower-case hex digits", name)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise PumpError(Status.BAD_ARGUMENT, f"{name} must be {2 * size} lower-case hex digits", name) from None


def programmer_id_field(payload: dict) -> str:
    """``payload["programmer_id"]``, checked against protocol.secure.PROGRAMMER_ID (BAD_ARGUMENT otherwise)."""
    value = payload.get("programmer_id")
    if not isinstance(value, str) or not PROGRAMMER_ID.fullmatch(value):
        raise PumpError(Status.BAD_ARGUMENT, "programmer_id must be 1 to 64 letters, digits, '.', '_' or '-', "
                                             "starting with a letter or digit", "programmer_id")
    return value


def _only(payload: dict, names: tuple[str, ...]) -> None:
    """BAD_ARGUMENT naming the first key of ``payload`` that is not one of ``names``."""
    unknown = sorted(set(payload) - set(names))
    if unknown:
        raise PumpError(Status.BAD_ARGUMENT, f"unknown field {unknown[0]!r}", unknown[0])


def window_seconds(value: object, name: str = "seconds") -> int:
    """A window's length: a whole number of seconds in 1..MAX_WINDOW_S, else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WINDOW_S:
        raise ValueError(f"{name} must be a whole number of seconds in 1..{MAX_WINDOW_S}, got {value!r}")
    return value


class PairingWindow:
    """The window, its code and attempts, and the one unfinished pairing (PAIR_START answered, no PAIR_FINISH)."""

    def __init__(self, pump: Pump, out: TextIO = sys.stdout, monotonic: Callable[[], float] = time.monotonic):
        self.pump = pump
        self.out = out
        self.monotonic = monotonic
        self._code: str | None = None
        self._closes_at = 0.0
        self._attempts = 0
        self._unfinished: tuple[str, PumpPairing] | None = None

    @property
    def attempts(self) -> int:
        """PAIR_START requests taken in the window opened last."""
        return self._attempts

    @property
    def is_open(self) -> bool:
        self.expire()
        return self._code is not None

    @property
    def seconds_left(self) -> float | None:
        """Real seconds until the open window closes by itself; None when it is closed."""
        return max(0.0, self._closes_at - self.monotonic()) if self.is_open else None

    def open(self, seconds: int) -> None:
        """Open the window for ``seconds`` on a fresh code (replacing an open one), print its line and log it."""
        self._code = new_code()
        self._closes_at = self.monotonic() + seconds
        self._attempts = 0
        self._unfinished = None
        try:
            print(pairing_line(self._code, seconds), file=self.out, flush=True)
        except (OSError, ValueError) as exc:  # nobody reads standard output any more: the window opens all the same
            print(f"pump-emulator: the pairing code could not be shown: {exc}", file=sys.stderr, flush=True)
        self.pump._log("pairing_window_opened", seconds=seconds)

    def expire(self) -> None:
        if self._code is not None and self.monotonic() >= self._closes_at:
            self._close("timeout")

    def _close(self, reason: str) -> None:
        self._code = None
        self._unfinished = None
        self.pump._log("pairing_window_closed", reason=reason)

    def _attempt_failed(self) -> None:
        self._unfinished = None
        if self._attempts >= PAIRING_ATTEMPTS:
            self._close("attempts")

    def start(self, payload: dict) -> dict:
        """PAIR_START: the pump's SPAKE2 message and confirmation (one attempt used)."""
        _only(payload, ("programmer_id", "message"))
        programmer_id = programmer_id_field(payload)
        message = hex_field(payload, "message", MESSAGE_BYTES)
        if not self.is_open or self._code is None:
            raise PumpError(Status.REFUSED, "the pairing window is not open: open it at the pump (it then shows a "
                                            "six-digit code) and pair within its time")
        if self._attempts >= PAIRING_ATTEMPTS:
            self._close("attempts")
            raise PumpError(Status.REFUSED, f"the pairing window is not open: its {PAIRING_ATTEMPTS} attempts are "
                                            "used up (open it again at the pump for a new code)")
        self._attempts += 1
        pairing = PumpPairing(self._code, programmer_id, self.pump.state.serial)
        try:
            pump_message, confirmation = pairing.answer(message)
        except PairingFailed as exc:
            self._attempt_failed()
            raise PumpError(Status.REFUSED, f"the pairing message is not valid: {exc}", "message") from None
        self._unfinished = (programmer_id, pairing)
        return {"serial": self.pump.state.serial, "message": pump_message.hex(), "confirm": confirmation.hex()}

    def finish(self, payload: dict) -> dict:
        """PAIR_FINISH: the programmer's confirmation checked; on a match the programmer is paired."""
        _only(payload, ("programmer_id", "confirm"))
        programmer_id = programmer_id_field(payload)
        confirmation = hex_field(payload, "confirm", CONFIRM_BYTES)
        self.expire()
        if self._unfinished is None or self._unfinished[0] != programmer_id:
            raise PumpError(Status.REFUSED, f"no pairing was started for {programmer_id!r} in an open pairing "
                                            "window: send PAIR_START first")
        pairing = self._unfinished[1]
        try:
            key = pairing.confirm(confirmation)
        except PairingFailed:
            self.pump._log("pairing_failed", programmer_id=programmer_id)
            self._attempt_failed()
            raise PumpError(Status.REFUSED, "the confirmation does not match: the code is wrong (ask for a new "
                                            "one if this window has closed)", "confirm") from None
        self.pump.add_paired(programmer_id, key)
        self.pump._log("programmer_paired", programmer_id=programmer_id)
        self._close("paired")
        return {"paired": True}

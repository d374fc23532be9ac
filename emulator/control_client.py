"""The test bench's side of the emulator's control channel: find it, and ask it one action at a time.

Why a module of its own, with the standard library only: ``pump-emulator ctl`` speaks through it, and so will the
application's emulator panel, which may import nothing else of the emulator (an import contract in pyproject.toml):
no pydantic model, no pump and no engine load in a program that only drives one from outside. The channel itself
(its lines, actions, answers and errors) is specified in docs/emulator.md, "The control channel".
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

CONTROL_LINE = re.compile(r"control on (tcp://127\.0\.0\.1:[0-9]{1,5}) token-file (.+)")
"""The line the emulator prints on stdout when started with ``--control``: the URL and the file holding the token."""
CONTROL_TIMEOUT_S = 10.0
"""Longest wait for an answer: every action is answered within milliseconds, except an ``advance`` of years, which
runs the engine over them (a decade of a flex program in about a second)."""
MAX_LINE_BYTES = 65536
"""Longest request or answer line, newline included; the emulator closes a connection that sends a longer one."""

ACTIONS = ("state", "advance", "speed", "battery", "stall", "clear-stall", "press-button", "open-pairing", "faults",
           "reset-factory", "save", "load")
"""Every action the channel takes, in the order docs/emulator.md lists them."""
ERROR_CODES = ("bad_request", "bad_value", "refused", "unauthorized", "internal")
"""What an answer's ``error`` may be: a request the channel cannot read, a value outside its limits, an action the
pump's state refuses, a token that is not the emulator's, a bug of the emulator's."""


class ControlError(Exception):
    """The emulator answered no: ``code`` (one of ERROR_CODES), the ``field`` at fault (or None) and its message."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ControlUnreachable(Exception):
    """No answer: nothing listens at the URL, the connection broke, or the answer did not come in time."""


def parse_control_line(text: str) -> tuple[str, Path]:
    """The URL and token file of a ``control on ...`` line (its newline may be there or not); ValueError quoting
    anything else."""
    match = CONTROL_LINE.fullmatch(text.removesuffix("\n"))
    if match is None:
        raise ValueError(f"{text!r} is not a control line ('control on tcp://127.0.0.1:PORT token-file FILE')")
    return match[1], Path(match[2])


def read_token(path: Path) -> str:
    """The token in ``path`` (the file the emulator wrote, mode 0600); OSError when it cannot be read."""
    return path.read_text(encoding="ascii").strip()


def control_address(url: str) -> tuple[str, int]:
    """Host and port of ``tcp://127.0.0.1:PORT``; ValueError for anything else (the channel is loopback only)."""
    match = re.fullmatch(r"tcp://127\.0\.0\.1:([0-9]{1,5})", url)
    if match is None or not 0 < int(match[1]) < 65536:
        raise ValueError(f"control URL {url!r}: expected tcp://127.0.0.1:PORT, as the emulator's control line says")
    return "127.0.0.1", int(match[1])


class ControlClient:
    """One connection to an emulator's control channel. ``request`` sends an action and returns its ``result``;
    raises ControlError for a refusal and ControlUnreachable when no answer comes."""

    def __init__(self, url: str, token: str, timeout: float = CONTROL_TIMEOUT_S):
        self.address = control_address(url)
        self.token = token
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._pending = b""

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def request(self, action: str, **arguments: Any) -> dict:
        """Send ``action`` with its ``arguments`` and return the answer's ``result``."""
        line = json.dumps({"token": self.token, "action": action, **arguments}).encode("utf-8") + b"\n"
        try:
            sock = self._connected()
            sock.sendall(line)
            answer = self._read_line(sock)
        except OSError as exc:
            self.close()
            raise ControlUnreachable(f"no answer from the emulator's control channel at tcp://{self.address[0]}:"
                                     f"{self.address[1]}: {exc.strerror or exc}") from None
        try:
            document = json.loads(answer)
        except ValueError:
            self.close()
            raise ControlUnreachable(f"the control channel answered something that is not JSON: {answer[:200]!r}") \
                from None
        if document.get("ok") is True:
            return document["result"]
        raise ControlError(document.get("error", "bad_request"), document.get("message", "(no message)"),
                           document.get("field"))

    def _connected(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection(self.address, timeout=self.timeout)
            self._pending = b""
        return self._sock

    def _read_line(self, sock: socket.socket) -> bytes:
        while b"\n" not in self._pending:
            chunk = sock.recv(MAX_LINE_BYTES)
            if not chunk:
                raise ConnectionResetError("the emulator closed the connection")
            self._pending += chunk
            if len(self._pending) > MAX_LINE_BYTES:
                raise ConnectionResetError(f"an answer longer than {MAX_LINE_BYTES} bytes")
        line, _, self._pending = self._pending.partition(b"\n")
        return line


def describe(result: dict) -> str:
    """The answer for a person: the pump's state in a few lines, units named (``pump-emulator ctl`` prints it, the
    application's Emulator > Control panel shows it)."""
    state = result["state"]
    reservoir, battery = state["reservoir"], state["battery"]
    alarms = ", ".join(f"{alarm['code']} ({alarm['severity']}, since {alarm['since']}"
                       + (", acknowledged)" if alarm["acknowledged"] else ")") for alarm in state["alarms"]) or "none"
    bolus = state["bolus"]
    faults = state["faults"]
    window = state["pairing_window"]
    lines = [
        f"pump {state['model']} {state['serial']}, clock {state['pump_time']} at {state['speed']:g}x"
        + (", motor stalled" if state["stalled"] else ""),
        f"reservoir {reservoir['volume_ml']:.3f} mL of {reservoir['capacity_ml']:g} mL "
        f"(low alarm at {reservoir['low_alarm_ml']:g} mL)",
        f"battery {battery['percent']:g} % ({battery['status']})",
        f"alarms: {alarms}",
        "bolus: none" if bolus is None else
        f"bolus: {bolus['bolus_id']} ({bolus['kind']}) {bolus['delivered']:.4g} of {bolus['dose']:g} "
        f"{state.get('dose_unit') or 'dose units'} given, "
        f"{bolus['remaining_s'] / 60:.1f} min left",
        f"link faults: {faults['spec'] or 'none'}" + (f" (seed {faults['seed']})" if faults["spec"] else ""),
        "pairing window: " + ("closed" if not window["open"] else f"open, {window['seconds_left']:.0f} s left"),
    ]
    if "press" in result:
        lines.append(f"demand dose granted: {result['press']['bolus_id']}, next allowed "
                     f"{result['press']['next_allowed']}")
    if "file" in result:
        lines.append(f"saved in {result['file']}")
    scenario = state.get("scenario")
    if scenario is not None:
        lines.append(f"scenario {scenario['name']}: {scenario['steps_done']} of {scenario['steps']} steps, "
                     f"{scenario['met']} expectations met, {scenario['failed']} failed")
    return "\n".join(lines)

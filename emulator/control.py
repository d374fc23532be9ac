"""The control channel's endpoint: a loopback TCP port, apart from the pump's wire, that takes JSON lines.

Why apart from the wire: a real pump has no such channel, so nothing of it may show on the link a programmer
talks to (the SERVICE command, sealed in a session, is the wire's own test hook). Why a token: any local user can
connect to a loopback port; only who can read the token file (mode 0600, beside the state file, removed at stop)
may act on the pump. Why in the server's loop: the loop is the pump's one thread, so an action runs between two
wire requests, never inside one (the single thread is the lock the wire handler holds). docs/emulator.md, "The
control channel", is the specification.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import socket
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from emulator.control_actions import ControlActions
from emulator.control_client import MAX_LINE_BYTES, ControlError

MAX_CONTROL_CONNECTIONS = 4
"""Control connections served at once; one more is accepted and closed at once."""


def token_file_for(state_file: Path) -> Path:
    """Where the token of the pump kept in ``state_file`` is written: ``FILE.control-token`` beside it."""
    return state_file.with_name(state_file.name + ".control-token")


def write_token_file(path: Path) -> str:
    """A fresh random token, written to ``path`` readable by its owner only (0600), and returned."""
    token = secrets.token_hex(16)
    path.unlink(missing_ok=True)  # a file left by a killed emulator: its mode is not to be trusted
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    return token


@dataclass(eq=False)
class _Client:
    sock: socket.socket
    pending: bytes = b""


class ControlEndpoint:
    """The listening socket, its connections and the token; the server's loop calls ``fds`` and ``readable``."""

    def __init__(self, actions: ControlActions, host: str, port: int, token_file: Path):
        self.actions = actions
        self.token_file = token_file
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.url = f"tcp://{host}:{self._listener.getsockname()[1]}"
        try:
            self._token = write_token_file(token_file)
        except OSError:
            self._listener.close()
            raise
        self._clients: dict[int, _Client] = {}

    @property
    def line(self) -> str:
        """The line announced on stdout (docs/emulator.md): ``control on URL token-file FILE``."""
        return f"control on {self.url} token-file {self.token_file}"

    def fds(self) -> list[int]:
        return [self._listener.fileno(), *self._clients]

    def readable(self, fd: int) -> None:
        """Accept a connection, or read a connection's bytes and answer every whole line in them."""
        if fd == self._listener.fileno():
            self._accept()
            return
        client = self._clients.get(fd)
        if client is None:
            return
        try:
            data = client.sock.recv(MAX_LINE_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(client)
            return
        client.pending += data
        while b"\n" in client.pending:
            line, _, client.pending = client.pending.partition(b"\n")
            if not self._answer(client, line):
                return
        if len(client.pending) > MAX_LINE_BYTES:
            self._close(client)

    def close(self) -> None:
        for client in list(self._clients.values()):
            self._close(client)
        self._listener.close()
        self.token_file.unlink(missing_ok=True)

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        if len(self._clients) >= MAX_CONTROL_CONNECTIONS:
            sock.close()
            return
        sock.setblocking(False)
        self._clients[sock.fileno()] = _Client(sock)

    def _answer(self, client: _Client, line: bytes) -> bool:
        """Answer one request line; False when the connection was closed (a wrong token, a peer gone)."""
        authorized = True
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ControlError("bad_request", "a request is one JSON object on one line")
            token = request.pop("token", None)
            if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self._token.encode()):
                authorized = False
                raise ControlError("unauthorized", f"the token is not this emulator's (it is in {self.token_file})",
                                   "token")
            answer: dict = {"ok": True, "result": self.actions.run(request)}
        except ControlError as refusal:
            answer = {"ok": False, "error": refusal.code, "field": refusal.field, "message": refusal.message}
        except ValueError:
            answer = {"ok": False, "error": "bad_request", "field": None,
                      "message": "a request is one JSON object on one line"}
        except Exception:  # noqa: BLE001 - a bug in an action must not stop the pump
            traceback.print_exc(file=sys.stderr)
            answer = {"ok": False, "error": "internal", "field": None,
                      "message": "internal error in the emulator (see its standard error)"}
        try:
            client.sock.sendall(json.dumps(answer).encode("utf-8") + b"\n")
        except OSError:  # BlockingIOError included: a client that reads nothing of a few kB is gone
            authorized = False
        if not authorized:
            self._close(client)
        return authorized

    def _close(self, client: _Client) -> None:
        self._clients.pop(client.sock.fileno(), None)
        client.sock.close()

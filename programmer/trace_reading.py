"""Reading a wire trace (docs/trace-format.md) back into the exchanges it shows, for the trace viewer.

Why in the domain and not in the driver that writes the trace: the application may not import a driver, and the
viewer reads a technician's trace file as well as the live session's lines, so the reader sees only text. Why
strict: a trace is evidence of what crossed the link; a line that does not read as the format says is reported with
its number and left out, never guessed at, and never a crash (a file may be cut mid-line by a crash, or be anything
at all). The writer (``drivers/trace.py``) takes its marks from here, so the two cannot drift apart.

The reader is incremental (``TraceReader.feed``): rows are only ever appended, and an exchange's answer arrives
after its request, so a live view grows without redrawing what it showed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Iterable

TRACE_FORMAT = "itb-trace/2"
"""Written on the ``TRACE`` line that opens each traced link; a trace without one is version 1 (no DONE lines)."""
PLAIN_MARK = "PLAIN (patient data)"
"""Starts the lines that hold an opened payload, written only when plaintext tracing was asked for."""
SEALED = "sealed"
"""What the reader says of a sealed payload whose opened text the trace does not hold."""
IN_CLEAR = "in clear (see hex)"
"""What it says of a payload sent in clear: the hex holds it (HELLO, pairing, or a version-1 link)."""
DROP_REASONS = ("oversize", "cobs", "truncated", "length", "crc", "version", "status", "payload")
"""The words a DROP line's reason starts with (docs/protocol.md section 5)."""

_HEX = r"[0-9a-f]{2}(?: [0-9a-f]{2})*"
_NAME = r"[A-Z][A-Z0-9_]*|0x[0-9A-F]{2}"
_TX = re.compile(rf"seq=(\d+) ({_NAME})( sealed)?( resend)?: ({_HEX})", re.ASCII)
_RX = re.compile(_HEX, re.ASCII)
_FRAME = re.compile(rf"seq=(\d+) ({_NAME})(?: ({_NAME}))? \((.+)\)", re.ASCII)
_DROP = re.compile(rf"([a-z]+): (.*): ({_HEX})", re.ASCII)
_PLAIN = re.compile(rf"(TX|RX) seq=(\d+) ({_NAME})(?: ({_NAME}))?: (.*)", re.ASCII)
_DONE = re.compile(rf"seq=(\d+) ({_NAME}) ({_NAME}) tries=(\d+) elapsed_ms=(\d+\.\d{{3}})", re.ASCII)
_TRACE = re.compile(r"(itb-trace/\d+) utc_offset=([+-]\d{2}:\d{2})", re.ASCII)
_LINE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}) ([A-Z]+) ?(.*)", re.ASCII)


@dataclass(frozen=True)
class LineProblem:
    """A line that does not read as the format says: its number (from 1) and what is wrong with it."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Row:
    """One thing seen on the link, a row of the viewer's table: a request sent (TX), a frame received (RX), bytes
    dropped (RX, ``dropped``) or a note. ``exchange`` is the index of the exchange it belongs to, if any."""

    line: int
    time: datetime
    direction: str            # "TX", "RX" or "" (a note)
    command: str              # the command's name ("" for a drop or a note)
    seq: int | None
    status: str = ""          # an answer's status name
    resend: bool = False
    dropped: str = ""         # a drop's reason word
    dropped_bytes: int = 0
    ignored: str = ""         # why a received frame was not taken as the answer
    answer: bool = False      # the frame taken as its exchange's answer (the exchange has the duration)
    hex: str = ""
    text: str = ""            # a note's text, a drop's whole reason
    exchange: int | None = None

    @property
    def problem(self) -> bool:
        """A resend, a drop, a frame not taken, or an answer other than OK: what "only problems" shows."""
        return self.resend or bool(self.dropped) or bool(self.ignored) or self.status not in ("", "OK")


@dataclass
class Exchange:
    """A request and its answer: every sending of it, what was dropped or ignored meanwhile, the time between."""

    seq: int
    command: str
    sent_at: datetime
    sealed: bool
    tries: int = 1
    status: str | None = None           # None: no answer in the trace (yet)
    answered_at: datetime | None = None
    duration_ms: float | None = None    # the driver's own figure (DONE) when the trace has it, else the timestamps'
    request_payload: str | None = None  # the opened text (PLAIN lines), else None
    answer_payload: str | None = None
    answer_sealed: bool = False
    request_hex: str = ""
    answer_hex: str = ""
    drops: list[Row] = field(default_factory=list)
    ignored: int = 0

    def payload_text(self, direction: str) -> str:
        """The payload of the request (TX) or the answer (RX) as the trace shows it: opened, sealed or in clear."""
        text, sealed = ((self.request_payload, self.sealed) if direction == "TX"
                        else (self.answer_payload, self.answer_sealed))
        if text is not None:
            return text
        return SEALED if sealed else IN_CLEAR


class TraceReader:
    """Reads trace lines one at a time (``feed``); ``rows``, ``exchanges`` and ``problems`` only grow."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.exchanges: list[Exchange] = []
        self.problems: list[LineProblem] = []
        self.formats: list[str] = []
        """The format named by each TRACE line read (one per traced link)."""
        self.lines = 0
        self._open: int | None = None        # the exchange waiting for its answer
        self._received = bytearray()         # RX bytes not yet shown in a frame or a drop
        self._skipping = False               # after an oversize drop: the rest up to a delimiter was skipped

    def feed_all(self, lines: Iterable[str]) -> TraceReader:
        for line in lines:
            self.feed(line)
        return self

    def feed(self, line: str) -> int:
        """Read one line (its end of line may be there); returns how many rows it added (0 or 1)."""
        self.lines += 1
        before = len(self.rows)
        text = line.rstrip("\r\n")
        match = _LINE.fullmatch(text)
        if match is None:
            self._problem("not a trace line (a time to the microsecond, a kind in capitals, its fields)")
            return 0
        try:
            time = datetime.fromisoformat(match[1])
        except ValueError:
            self._problem(f"the time {match[1]!r} is not a date and time")
            return 0
        kind, rest = match[2], match[3]
        reader = _READERS.get(kind)
        if reader is None:
            self._problem(f"unknown kind {kind!r}")
        elif not reader(self, time, rest):
            self._problem(f"a {kind} line that does not read as the format says: {rest[:60]!r}")
        return len(self.rows) - before

    # --- the kinds -----------------------------------------------------------------------------

    def _tx(self, time: datetime, rest: str) -> bool:
        match = _TX.fullmatch(rest)
        if match is None or not _seq(match[1]):
            return False
        seq, command, resend = int(match[1]), match[2], bool(match[4])
        current = self._current()
        if resend and current is not None and (current.seq, current.command) == (seq, command):
            current.tries += 1
        else:
            self.exchanges.append(Exchange(seq, command, time, sealed=bool(match[3]), request_hex=match[5]))
            self._open = len(self.exchanges) - 1
        self._add(Row(self.lines, time, "TX", command, seq, resend=resend, hex=match[5], exchange=self._open))
        return True

    def _rx(self, time: datetime, rest: str) -> bool:
        if _RX.fullmatch(rest) is None:
            return False
        self._received += bytes.fromhex(rest)
        return True

    def _frame(self, time: datetime, rest: str) -> bool:
        match = _FRAME.fullmatch(rest)
        if match is None or not _seq(match[1]):
            return False
        seq, command, status, verdict = int(match[1]), match[2], match[3] or "", match[4]
        wire = self._take_chunk()
        current = self._current()
        if not verdict.startswith("answer") or verdict.startswith("answer in clear") or current is None:
            if current is not None:
                current.ignored += 1
            self._add(Row(self.lines, time, "RX", command, seq, status=status, ignored=verdict, hex=wire,
                          exchange=self._open))
            return True
        current.status, current.answered_at, current.answer_hex = status, time, wire
        current.answer_sealed = verdict == "answer (sealed)"
        if current.duration_ms is None:
            current.duration_ms = (time - current.sent_at).total_seconds() * 1000
        self._add(Row(self.lines, time, "RX", command, seq, status=status, answer=True, hex=wire, exchange=self._open))
        return True

    def _drop(self, time: datetime, rest: str) -> bool:
        match = _DROP.fullmatch(rest)
        if match is None or match[1] not in DROP_REASONS:
            return False
        raw = match[3]
        self._take_chunk()
        self._skipping = match[1] == "oversize"
        row = Row(self.lines, time, "RX", "", None, dropped=match[1], dropped_bytes=len(raw.split()), hex=raw,
                  text=f"{match[1]}: {match[2]}", exchange=self._open)
        if (current := self._current()) is not None:
            current.drops.append(row)
        self._add(row)
        return True

    def _plain(self, time: datetime, rest: str) -> bool:
        if not rest.startswith(PLAIN_MARK.split(" ", 1)[1] + " "):
            return False
        match = _PLAIN.fullmatch(rest.split(" ", 2)[2])
        if match is None or not _seq(match[2]) or (match[1] == "TX") != (match[4] is None):
            return False
        current = self._current()
        if current is None or current.seq != int(match[2]) or current.command != match[3]:
            return False
        if match[1] == "TX":
            current.request_payload = match[5]
        else:
            current.answer_payload = match[5]
        return True

    def _note(self, time: datetime, rest: str) -> bool:
        self._add(Row(self.lines, time, "", "", None, text=rest))
        return True

    def _done(self, time: datetime, rest: str) -> bool:
        match = _DONE.fullmatch(rest)
        if match is None or not _seq(match[1]):
            return False
        for exchange in reversed(self.exchanges):
            if (exchange.seq, exchange.command) == (int(match[1]), match[2]):
                exchange.tries, exchange.duration_ms = int(match[4]), float(match[5])
                return True
        return False

    def _trace(self, time: datetime, rest: str) -> bool:
        match = _TRACE.fullmatch(rest)
        if match is None:
            return False
        self.formats.append(match[1])
        self._open, self._received, self._skipping = None, bytearray(), False  # a new link: nothing carries over
        return True

    # --- helpers -------------------------------------------------------------------------------

    def _current(self) -> Exchange | None:
        return None if self._open is None else self.exchanges[self._open]

    def _add(self, row: Row) -> None:
        self.rows.append(row)

    def _problem(self, reason: str) -> None:
        self.problems.append(LineProblem(self.lines, reason))

    def _take_chunk(self) -> str:
        """The received bytes of the frame just decoded or dropped: up to the delimiter ending the first non-empty
        chunk (a frame may span several RX lines, and one read may hold several frames)."""
        data = self._received
        start = 0
        if self._skipping:
            start = data.find(0) + 1 if 0 in data else len(data)
            self._skipping = False
        while start < len(data) and data[start] == 0:
            start += 1
        end = data.find(0, start)
        end = len(data) if end < 0 else end + 1
        chunk, self._received = bytes(data[:end]), bytearray(data[end:])
        return chunk.hex(" ")


_READERS = {"TX": TraceReader._tx, "RX": TraceReader._rx, "FRAME": TraceReader._frame, "DROP": TraceReader._drop,
            "PLAIN": TraceReader._plain, "NOTE": TraceReader._note, "DONE": TraceReader._done,
            "TRACE": TraceReader._trace}


def _seq(text: str) -> bool:
    return len(text) <= 3 and int(text) <= 255


def read_trace(lines: Iterable[str]) -> TraceReader:
    """A whole trace read: its rows, exchanges and the lines that could not be read."""
    return TraceReader().feed_all(lines)

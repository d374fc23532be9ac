"""The wire trace viewer's logic without Qt: the live session's lines, the table's cells, the filter and search,
the details of a row, and what an export writes.

Why the live trace is kept here, in memory only: the viewer shows the session's payloads as opened (the driver
traces them as ``PLAIN (patient data)`` lines), and patient data must not land in a file nobody asked for. The
lines stay in this process; a technician who wants them on disk saves them, and the saved file holds the opened
payloads only if "Show patient data" was on when it was saved.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the window's live trace (``LiveTrace``) starts with it; reading a trace comes later
    from programmer.trace_reading import Row, TraceReader

LIVE_LINES_KEPT = 50_000
"""The live trace keeps this many lines (some 10,000 exchanges), then drops the oldest: a long session (a bolus watched
for an hour, the event log read again and again) does not grow the application without bound."""

COLUMNS = ("Time", "Dir", "Command", "Seq", "Status", "Duration", "Marks")
HIDDEN_PAYLOAD = "(patient data hidden: tick Show patient data to see it)"
ANY = ""
"""The command or status filter that lets every row through."""


class LiveTrace:
    """The current session's trace lines, appended by the link's thread (``append``, the driver's trace sink) and
    read by the GUI thread (``since``). Only the newest ``LIVE_LINES_KEPT`` are kept."""

    def __init__(self, keep: int = LIVE_LINES_KEPT) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._first = 0  # the number of the first line kept (lines dropped before it)
        self._keep = keep

    def append(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
            if len(self._lines) > 2 * self._keep:  # trimmed in batches: appending stays cheap
                drop = len(self._lines) - self._keep
                del self._lines[:drop]
                self._first += drop

    @property
    def count(self) -> int:
        """How many lines were ever appended."""
        with self._lock:
            return self._first + len(self._lines)

    def since(self, count: int) -> tuple[list[str], int]:
        """The lines after the first ``count`` appended (those still kept), and the count to ask from next."""
        with self._lock:
            start = max(count - self._first, 0)
            return self._lines[start:], self._first + len(self._lines)


@dataclass(frozen=True)
class TraceFilter:
    """What the table shows: a command, a status (ANY: all), only problems, and rows whose text holds ``search``
    (case-insensitive; a request's or an answer's payload counts only while patient data is shown)."""

    command: str = ANY
    status: str = ANY
    problems_only: bool = False
    search: str = ""

    def shows(self, row: Row, reader: TraceReader, patient_data: bool, text: str | None = None) -> bool:
        """Whether ``row`` passes; ``text``: its ``searchable`` text when the caller keeps it (computed if None)."""
        if self.command and row.command != self.command:
            return False
        if self.status and row.status != self.status:
            return False
        if self.problems_only and not row.problem:
            return False
        if not self.search:
            return True
        needle = self.search.casefold()
        if needle in (searchable(row, reader) if text is None else text):
            return True
        return (patient_data and row.exchange is not None and (row.direction == "TX" or row.answer)
                and needle in reader.exchanges[row.exchange].payload_text(row.direction).casefold())


def searchable(row: Row, reader: TraceReader) -> str:
    """What a search looks in, besides a payload shown: the row's cells and its note, in one case."""
    return "\n".join((*cells(row, reader), row.text)).casefold()


def cells(row: Row, reader: TraceReader) -> tuple[str, ...]:
    """The table's cells for ``row``, in the order of COLUMNS."""
    seq = "" if row.seq is None else str(row.seq)
    return (row.time.strftime("%H:%M:%S.%f")[:-3], row.direction or "note", row.command or _what(row), seq,
            row.status, duration(row, reader), marks(row, reader))


def _what(row: Row) -> str:
    return "(dropped)" if row.dropped else row.text


def duration(row: Row, reader: TraceReader) -> str:
    """The request-to-answer time on the answer's row, in ms."""
    if not row.answer or row.exchange is None:
        return ""
    taken = reader.exchanges[row.exchange].duration_ms
    return "" if taken is None else f"{taken:.1f} ms"


def marks(row: Row, reader: TraceReader) -> str:
    """Resends, drops and frames not taken, in words: what "only problems" shows."""
    if row.dropped:
        return f"DROPPED {row.dropped}, {row.dropped_bytes} bytes"
    if row.resend:
        return "RESEND"
    if row.ignored:
        return row.ignored
    if row.answer and row.exchange is not None and (tries := reader.exchanges[row.exchange].tries) > 1:
        return f"after {tries} tries"
    return ""


def choices(rows: Sequence[Row]) -> tuple[list[str], list[str]]:
    """The commands and statuses the rows hold, sorted: the filter's lists."""
    return (sorted({row.command for row in rows if row.command}), sorted({row.status for row in rows if row.status}))


def details(row: Row, reader: TraceReader, patient_data: bool, with_hex: bool) -> str:
    """The details pane's text for ``row``: what it is, its exchange's payloads and timing, and the hex if asked."""
    lines = [f"Line {row.line}, {row.time.isoformat(sep=' ')}"]
    if row.dropped:
        lines.append(f"Dropped {row.dropped_bytes} bytes: {row.text}")
    elif not row.direction:
        lines.append(f"Note: {row.text}")
    if row.exchange is not None:
        exchange = reader.exchanges[row.exchange]
        status = exchange.status or "no answer in the trace"
        lines.append(f"Exchange: seq={exchange.seq} {exchange.command} -> {status}, sent {exchange.tries} "
                     f"time{'s' if exchange.tries > 1 else ''}" + (f", answered in {exchange.duration_ms:.1f} ms"
                                                                   if exchange.duration_ms is not None else ""))
        if exchange.drops or exchange.ignored:
            lines.append(f"Meanwhile: {len(exchange.drops)} chunks dropped "
                         f"({sum(drop.dropped_bytes for drop in exchange.drops)} bytes), "
                         f"{exchange.ignored} frames not taken")
        from programmer.trace_reading import IN_CLEAR, SEALED

        for direction, name in (("TX", "Request"), ("RX", "Answer")):
            text = exchange.payload_text(direction)
            opened = text not in (SEALED, IN_CLEAR)
            lines.append(f"{name} payload: {text if patient_data or not opened else HIDDEN_PAYLOAD}")
    if with_hex:
        lines.append(f"Hex ({len(row.hex.split())} bytes): {row.hex}")
    return "\n".join(lines)


def rows_csv(rows: Iterable[Row], reader: TraceReader) -> str:
    """The rows as CSV, one line each with the table's columns and the hex (never a payload)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "Line", "Hex"])
    for row in rows:
        writer.writerow([*cells(row, reader), row.line, row.hex])
    return out.getvalue()


def trace_to_save(lines: Iterable[str], patient_data: bool) -> str:
    """The trace file itself, without its opened payloads unless patient data is shown."""
    return "".join(line.rstrip("\r\n") + "\n" for line in lines
                   if patient_data or not _is_plain(line))


def _is_plain(line: str) -> bool:
    from programmer.trace_reading import PLAIN_MARK

    return line.split(" ", 1)[-1].startswith(PLAIN_MARK)

"""An optional wire trace for technicians: every byte sent and received, timestamped, in hex.

One line per event, written as it happens so a trace of a session that hung or crashed is still
complete up to the last byte:

    2026-11-28T11:12:21.123456 TX seq=7 READ_STATUS resend: 00 0a 01 07 03 ...
    2026-11-28T11:12:21.180002 RX 0b 01 07 83 ...
    2026-11-28T11:12:21.180090 FRAME seq=7 READ_STATUS OK (answer)
    2026-11-28T11:12:21.190000 DROP crc: computed 0x1A2B, frame carries 0x1A2C: 0b 01 ...

In a secure session (protocol version 2) the payloads on ``TX`` and ``RX`` lines are sealed, so a trace holds no
patient data and can be sent to a technician as it is. Only when asked (``plaintext``, the CLI's
``--trace-plaintext``) does it also write each sealed frame's payload as opened, on lines marked for what they
hold:

    2026-11-28T11:12:21.180095 PLAIN (patient data) RX seq=7 READ_STATUS OK: {"battery": ...}

Since format ``itb-trace/2`` (docs/trace-format.md, which is the contract), each traced link starts with a ``TRACE``
line naming the format and this computer's UTC offset, and each answered request ends with a ``DONE`` line: its
tries and the time from its first sending to its answer on the monotonic clock, which a change of the wall clock
(a DST change) cannot bend. Older lines keep their meaning; ``programmer.trace_reading`` reads them back.

No key is ever traced: the pair key never crosses the link, and the session keys stay in the channel.

``RX`` lines show the bytes exactly as one read returned them (a frame may span several lines); the
``FRAME`` and ``DROP`` lines say what the decoder made of them. The sink is a file path (appended to)
or a callable taking one line; with no sink nothing is formatted at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from protocol import Command, Frame, Status
from protocol.frame import payload_bytes
from programmer.trace_reading import PLAIN_MARK, TRACE_FORMAT

TraceSink = Callable[[str], None] | str | os.PathLike | None


def describe(frame: Frame) -> str:
    """``seq=7 READ_STATUS`` for a request, ``seq=7 READ_STATUS OK`` for a response; unknown codes in hex."""
    command = code_name(Command, frame.command)
    if not frame.is_response:
        return f"seq={frame.seq} {command}"
    return f"seq={frame.seq} {command} {code_name(Status, frame.status)}"


def code_name(enum: type, value: int) -> str:
    """The enum member's name for a wire code, or the code in hex if this side does not know it."""
    try:
        return enum(value).name
    except ValueError:
        return f"0x{value:02X}"


class WireTrace:
    """Writes trace lines to a sink. Tracing must never break the link, so a failing sink is dropped."""

    def __init__(self, sink: TraceSink = None) -> None:
        self._file = None
        self._emit: Callable[[str], object] | None  # what it returns is not used
        if sink is None or callable(sink):
            self._emit = sink
        else:
            file = self._file = open(sink, "a", encoding="utf-8", buffering=1)  # line-buffered: complete after a crash
            self._emit = lambda line: file.write(line + "\n")  # close() drops both together
        offset = datetime.now().astimezone().strftime("%z")
        self._line(f"TRACE {TRACE_FORMAT} utc_offset={offset[:3]}:{offset[3:]}")

    @property
    def enabled(self) -> bool:
        return self._emit is not None

    def sent(self, frame: Frame, wire: bytes, resend: bool) -> None:
        self._line(f"TX {describe(frame)}{' sealed' if frame.sealed else ''}{' resend' if resend else ''}: "
                   f"{wire.hex(' ')}")

    def received(self, data: bytes) -> None:
        self._line(f"RX {data.hex(' ')}")

    def decoded(self, frame: Frame, verdict: str) -> None:
        self._line(f"FRAME {describe(frame)} ({verdict})")

    def dropped(self, reason: str, raw: bytes) -> None:
        self._line(f"DROP {reason}: {raw.hex(' ')}")

    def plain(self, direction: str, frame: Frame) -> None:
        """A sealed frame's payload as opened (``direction`` TX or RX): patient data, said so on the line."""
        if self._emit is not None:
            text = payload_bytes(frame).decode("ascii", "replace") if not frame.compact else repr(frame.payload)
            self._line(f"{PLAIN_MARK} {direction} {describe(frame)}: {text}")

    def done(self, answer: Frame, tries: int, elapsed_s: float) -> None:
        """The request ``answer`` answers is done: sent ``tries`` times, answered ``elapsed_s`` after its first
        sending (the monotonic clock's seconds)."""
        self._line(f"DONE {describe(answer)} tries={tries} elapsed_ms={elapsed_s * 1000:.3f}")

    def note(self, text: str) -> None:
        self._line(f"NOTE {text}")

    def close(self) -> None:
        """Close the trace file. A file that cannot take its last lines (a full disk) is given up quietly:
        a finished, verified write must not be reported as failed because its trace could not be saved."""
        if self._file is not None:
            file, self._file, self._emit = self._file, None, None
            try:
                file.close()
            except OSError:
                pass

    def _line(self, text: str) -> None:
        if self._emit is None:
            return
        try:
            self._emit(f"{datetime.now().isoformat(timespec='microseconds')} {text}")
        except Exception:  # noqa: BLE001 - a broken trace sink must not fail a pump command
            self._emit = None

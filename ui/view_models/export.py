"""The event log as a CSV file: the columns, the default file name, and a write that never leaves half a
file. No Qt (the Events page asks for the path and shows the result).

The file is for a spreadsheet or a records system, read away from the pump, so each row says on its own
which pump it came from and when it was exported; the event's kind and description are the words the
screen shows, and every detail the pump logged has a column of its own with its unit in the header
(the union of the keys of the events exported, in alphabetical order, so the same kinds always give the
same columns). Values are the pump's own, in full (ids, checksums, numbers as logged), times in ISO 8601
(``ui.view_models.format.file_time``) with the clock in the header.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Sequence

from programmer.port import PumpEvent
from ui.view_models.event_text import TIME_KEYS, flat_detail, implied_unit, kind_name
from ui.view_models.format import COMPUTER_CLOCK, PUMP_CLOCK, UNIT_SPACE, file_time

FIXED_COLUMNS = ("Pump serial", f"Exported at ({COMPUTER_CLOCK})", "Event number", f"Event time ({PUMP_CLOCK})",
                 "Kind", "Description")
KEY_UNITS = {
    "dose": "dose_unit",
    "delivered": "dose_unit of its bolus_started",
    "daily_dose": "dose_unit per day",
    "previous_daily_dose": "previous_dose_unit per day",
    "drug.concentration_per_ml": "drug.dose_unit per mL",
}
"""Units of detail keys whose name does not say it (``implied_unit`` covers *_ml, *_min, *_s): a dose is in
the drug's dose unit, which the same row names in another column (or, for a bolus's end, its start)."""
ENCODING = "utf-8-sig"
"""UTF-8 with a byte-order mark: spreadsheet programs then read a drug name such as "ziconotide µ" right
instead of guessing a legacy code page; Python's csv and pandas read it too."""


def column_name(key: str) -> str:
    """A detail key's column header with its unit: 'added_ml (mL)', 'old (pump clock)', 'code'."""
    leaf = key.rsplit(".", 1)[-1]
    unit = PUMP_CLOCK if leaf in TIME_KEYS else KEY_UNITS.get(key) or implied_unit(leaf)
    return key if unit is None else f"{key} ({unit})"


def cell(key: str, value: object) -> str:
    """A detail value as the file holds it: numbers as logged, true/false, empty for null, pump-clock times
    in ISO 8601 to the second; lists as JSON-like text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if key.rsplit(".", 1)[-1] in TIME_KEYS and isinstance(value, str):
        try:
            return file_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, list):
        return "[" + ", ".join(cell(key, item) for item in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


def event_table(events: Sequence[tuple[PumpEvent, str]], serial: str, exported_at: datetime) -> Table:
    """The CSV's cells for ``events`` (each with its description as the screen shows it), oldest first.

    Descriptions come from the caller because a bolus's end borrows its dose unit from its start, which a
    filtered export may not include; the screen's no-break spaces become plain ones (a file does not wrap).
    """
    ordered = sorted(events, key=lambda pair: pair[0].index)
    flat = [flat_detail(event.detail) for event, _ in ordered]
    keys = sorted({key for detail in flat for key in detail})
    header = [*FIXED_COLUMNS, *(column_name(key) for key in keys)]
    exported = file_time(exported_at)
    rows = [[serial, exported, str(event.index), file_time(event.time), kind_name(event.kind),
             description.replace(UNIT_SPACE, " "), *(cell(key, detail[key]) if key in detail else "" for key in keys)]
            for (event, description), detail in zip(ordered, flat)]
    return Table(header, rows)


def csv_text(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180's line ends, what spreadsheets expect
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return buffer.getvalue()


def default_file_name(serial: str, on: date) -> str:
    """'E20-05D474-events-2026-12-02.csv': the pump and the day of the export (this computer's date), so
    two pumps' logs or two days' exports never overwrite each other by default."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in serial) or "pump"
    return f"{safe}-events-{on.isoformat()}.csv"


def write_atomically(path: Path, text: str, encoding: str = ENCODING) -> None:
    """Write ``text`` to ``path`` whole or not at all: into a temporary file beside it, flushed to disk,
    then renamed over ``path`` (a rename within a directory is atomic). Raises OSError, with the temporary
    file removed, when it cannot: a half-written file could be taken for the whole log."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    # os.open, not tempfile: the file gets the permissions the user's umask gives any new file
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding=encoding, newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise

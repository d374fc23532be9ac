"""The store's audit trail as the Audit page's table shows it, and its filters read from what was typed. No Qt.

A record is a JSON object whose keys the domain writes (docs/cli.md, the audit log); the table shows the ones a
person scans for (when, who, which patient and pump, what, how it ended) and the message, and keeps the whole
record for the detail pane. A filter typed wrong names its field and the form it takes; nothing is queried then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from ui.view_models.format import moment

COLUMNS = ("#", "Time (this computer's clock)", "User", "Role", "Patient", "Pump", "Action", "Event", "Outcome",
           "Message")
ANY = ""
"""A filter left empty matches every record."""


class AuditEntryLike(Protocol):
    """The fields of ``clinic.audit_trail.AuditEntry`` the page reads."""

    seq: int
    record: dict


@dataclass(frozen=True)
class AuditFilter:
    """What ``AuditTrail.query`` is asked: None matches anything. ``until`` is exclusive (the day after the last
    day typed, at midnight)."""

    patient: str | None = None
    username: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _day(text: str, field: str) -> tuple[date | None, list[str]]:
    if not text.strip():
        return None, []
    try:
        return date.fromisoformat(text.strip()), []
    except ValueError:
        return None, [f"{field}: a date as YYYY-MM-DD, not {text.strip()!r}"]


def read_filter(patient: str, username: str, action: str, since: str, until: str) -> tuple[AuditFilter, list[str]]:
    """The filter typed, and what is wrong with it (each naming the field); the dates are whole days of this
    computer's clock, both included."""
    first, problems = _day(since, "From")
    last, more = _day(until, "To")
    problems += more
    if first is not None and last is not None and last < first:
        problems.append(f"To: not before From ({first.isoformat()})")
    local = datetime.now().astimezone().tzinfo
    return AuditFilter(
        patient=patient.strip() or None, username=username.strip() or None, action=action.strip() or None,
        since=None if first is None else datetime.combine(first, time(), local),
        until=None if last is None else datetime.combine(last + timedelta(days=1), time(), local)), problems


def _when(text: object) -> str:
    if not isinstance(text, str):
        return ""
    try:
        return moment(datetime.fromisoformat(text).astimezone(), seconds=True)
    except ValueError:
        return text


def _text(value: object) -> str:
    return "" if value is None else str(value)


def row(entry: AuditEntryLike) -> tuple[str, ...]:
    record = entry.record
    user = record.get("user") or record.get("username")
    return (str(entry.seq), _when(record.get("time")), _text(record.get("clinician") or user),
            _text(record.get("role")), _text(record.get("patient") or record.get("patient_identifier")),
            _text(record.get("pump_serial")), _text(record.get("action")), _text(record.get("event")),
            _text(record.get("outcome")), _text(record.get("message")))


def rows(entries: list[AuditEntryLike]) -> list[tuple[str, ...]]:
    """Newest first: the page is read from the last thing done."""
    return [row(entry) for entry in sorted(entries, key=lambda entry: entry.seq, reverse=True)]

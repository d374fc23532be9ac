"""The refill reminder: the refill-by date as a calendar file (RFC 5545 ``.ics``) a clinic can import.

One event on the refill-by date, naming the pump's serial, the drug and why that date (``refill_by``).
Its time is written as a *floating* local time (a DATE-TIME without ``Z`` or ``TZID``): the pump keeps naive
local time and knows no time zone, so the only true statement is its clock's reading, which every calendar then
shows at that wall-clock time wherever it is. Pinning it to a zone the pump never had would move it by the
zone's offset when the calendar is elsewhere, or across a daylight-saving change. The event says so in words.

The event's UID is the pump's serial, so a newer reminder for the same pump replaces the older one where a
calendar updates events by UID; DTSTAMP (when the file was made) is UTC, as RFC 5545 requires.

``icalendar`` is imported when a reminder is made, not with this module: it costs every pump command that
never makes one about a tenth of a second of start-up.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from programmer.clock import iso
from programmer.program import Drug, write_text_atomically
from programmer.refill_by import REASON_WORDS, RefillBy

PRODUCT_ID = "-//itb-programmer//refill reminder//EN"

CLOCK_NOTE = ("Times are the pump's clock, written as floating local time (no time zone): the pump keeps local "
              "time without a zone, so the reminder shows at the pump clock's reading wherever this calendar is.")


def reminder_calendar(serial: str, drug: Drug, refill: RefillBy, made_at: datetime) -> bytes:
    """The ``.ics`` bytes (CRLF line ends, as RFC 5545 requires) of one event at ``refill.at`` (pump clock),
    with a display alarm a day before. ``made_at``: when the file is made, any zone (naive: this computer's)."""
    from icalendar import Alarm, Calendar, Event

    when = datetime.fromisoformat(iso(refill.at.replace(tzinfo=None)) or "")  # to the second, as every report
    drug_words = f"{drug.name} {drug.concentration_per_ml:g} {drug.dose_unit}/mL"
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"refill-by-{serial}@itb-programmer")
    event.add("dtstamp", made_at.astimezone(timezone.utc).replace(microsecond=0))
    event.add("dtstart", when)
    event.add("summary", f"Refill pump {serial} ({drug_words}) by {iso(when)} (pump clock)")
    event.add("description", f"Pump {serial}, {drug_words}: refill by {iso(when)} (pump clock), "
                             f"set by {REASON_WORDS[refill.reason]} (refill_by_reason {refill.reason}).\n{CLOCK_NOTE}")
    reminder = Alarm()
    reminder.add("action", "DISPLAY")
    reminder.add("description", f"Pump {serial} is due for a refill tomorrow")
    reminder.add("trigger", -timedelta(days=1))
    event.add_component(reminder)
    calendar.add_component(event)
    return calendar.to_ical()


def save_reminder(path: str | os.PathLike, data: bytes) -> None:
    """Write the ``.ics`` whole or not at all, its CRLF line ends as they are. Raises OSError when it cannot."""
    write_text_atomically(Path(path), data.decode("utf-8"), newline="")

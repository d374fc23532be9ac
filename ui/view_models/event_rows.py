"""The Events table's rows without Qt: their words when first asked for, which rows show in which order, and
the texts that set each column's width. Pure, no Qt.

Why it exists: a pump's log can hold ten thousand events, and the table must load, paint and filter them
in a few milliseconds on the GUI thread. Everything here is done once, in Python's own loops, rather than by
Qt asking the model cell by cell: a sentence and a full record are made only for an event someone looks
at (a row painted, a tooltip, the details pane, a sort by description, an export); sorting and filtering
compare plain values; the columns' widths come from a handful of sample texts (the widest digits, every
weekday and month name, the kinds the log holds), not from the rows.

A description is shown on one line, cut at a whole word with an ellipsis when its column is too narrow
(``ui.view_models.format.cut_at_word``); the record that ``full`` gives, for the tooltip and the details
pane, holds it whole.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any, Callable, Sequence

from programmer.port import PumpEvent
from ui.view_models.event_text import KIND_NAMES, bolus_units, event_detail, full_details, kind_name
from ui.view_models.format import moment

DIGITS = re.compile(r"[0-9]")
INDEX, TIME, KIND, DESCRIPTION = range(4)
"""The table's columns, in order."""
NUMBER_DIGITS = 5
"""The event numbers the number column has room for at the least: up to 99,999, events counted since the
pump was made, however few a log holds."""


class EventRows:
    """The events read from the pump, in the pump's order, with their words made on first use and kept."""

    def __init__(self, events: Sequence[PumpEvent] = ()):
        self.events = list(events)
        self._units = bolus_units(self.events)
        self._descriptions: list[str | None] = [None] * len(self.events)
        self._full: list[str | None] = [None] * len(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def description(self, row: int) -> str:
        """The event in words with units (``ui.view_models.event_text``), as the CSV's Description has it."""
        text = self._descriptions[row]
        if text is None:
            text = self._descriptions[row] = event_detail(self.events[row], self._units)
        return text

    def full(self, row: int) -> str:
        """The event's description whole and everything the pump logged for it, ids whole: the tooltip and
        the details pane."""
        text = self._full[row]
        if text is None:
            text = self._full[row] = full_details(self.events[row], self.description(row))
        return text

    def described(self, rows: Sequence[int]) -> list[tuple[PumpEvent, str]]:
        """The events of ``rows`` each with its description: what the CSV export is made of."""
        return [(self.events[row], self.description(row)) for row in rows]

    def cell(self, row: int, column: int) -> str:
        """The text of a cell of the table, whole."""
        event = self.events[row]
        if column == INDEX:
            return str(event.index)
        if column == TIME:
            return moment(event.time, seconds=True)
        if column == KIND:
            return kind_name(event.kind)
        return self.description(row)

    @functools.cached_property
    def _kinds(self) -> tuple[str, ...]:
        return tuple(sorted({event.kind for event in self.events}, key=kind_name))

    def kinds(self) -> list[str]:
        """The kinds the log holds, ordered by their names as the filter lists them."""
        return list(self._kinds)

    def shown(self, kind: str, column: int, descending: bool) -> list[int]:
        """The rows of ``kind`` (every row when empty) sorted by ``column``: numbers as numbers, times in time
        order, kinds as the pump names them, descriptions as text. Rows that sort alike keep the pump's order,
        also when descending."""
        rows = (range(len(self.events)) if not kind
                else [row for row, event in enumerate(self.events) if event.kind == kind])
        key = self._sort_key(column)
        return sorted(rows, key=key, reverse=descending)

    def _sort_key(self, column: int) -> Callable[[int], Any]:
        events = self.events
        if column == INDEX:
            return lambda row: events[row].index
        if column == TIME:
            return lambda row: events[row].time
        if column == KIND:
            return lambda row: events[row].kind
        return self.description

    def column_samples(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """Texts at least as wide as any the first three columns show, to measure them by: the largest
        event number (``NUMBER_DIGITS`` digits at least), a time for every weekday and month name
        (``time_samples``), and the name of every kind the programmer knows and of any other in the log.
        Most logs give the same samples, so the columns stay put from one read to the next (and a read
        costs no second layout and paint)."""
        largest = str(max((event.index for event in self.events), default=0)).rjust(NUMBER_DIGITS, "0")
        others = tuple(kind_name(kind) for kind in self._kinds if kind not in KIND_NAMES)
        return (largest,), time_samples(), (*KIND_NAMES.values(), *others)


@functools.cache
def time_samples() -> tuple[str, ...]:
    """A time on seven days running in each month: every weekday name beside every month name, in whatever
    language the dates are written. Made once: the language does not change while the application runs."""
    return tuple(moment(datetime(2026, month, day), seconds=True) for month in range(1, 13) for day in range(1, 8))


def widest(texts: Sequence[str], measure: Callable[[str], float]) -> float:
    """The width ``measure`` gives the widest of ``texts`` with every digit made the font's widest digit, so
    that no other figure of the same length is wider; 0 for no text."""
    if not texts:
        return 0
    digit = max("0123456789", key=measure)
    return max(measure(DIGITS.sub(digit, text)) for text in texts)

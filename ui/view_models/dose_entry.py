"""Typing doses: what a typed number may look like, when it is judged, and how the keys move between the
flex table's cells. No Qt.

**Precision.** Each drug's library entry sets the step a dose is typed in (``entry_step``: per day for a
simple continuous program, per hour for a flex step; 1, 0.1, 0.01 ...). A dose typed with more decimal
places is refused at the field with the step named, never rounded: the pump must get the number the screen
shows, and a figure rounded for display ("187.5 mcg/day") must never stand for a different one (187.52).
Trailing zeros count: with a step of 0.1, "187.50" is refused like "187.52". Digits past the step are how an
entry that still held the old dose looks ("187.5" then "200" typed gives "187.5200"), and a rule that counts
places without looking at which digits they are is one a clinician can apply at a glance.

**The pause.** What is wrong with an entry is shown once typing pauses for ``PAUSE_MS``, or at once on
Enter or on leaving the field: on the way to "180", "1" and "18" are not mistakes to flag in red.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from programmer.library import decimal_places

PAUSE_MS = 350
"""A pause in typing this long shows the problems: longer than the gap between keystrokes of someone typing
a number (about 150-250 ms), short enough to feel immediate once they stop."""

_PLAIN = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
"""Digits 0-9 and at most one decimal point: no sign, exponent, digit-group underscore or other script's
digits, each of which Python's float() takes and each of which at a bedside is a slip, not a meaning."""

Move = Literal["left", "right", "up", "down", "tab", "backtab", "enter"]


def parse_dose(text: str, unit: str, step: float | None = None) -> float:
    """A dose typed by a person, or ValueError with the reason in their words.

    A comma is refused rather than guessed: "1,000" is a thousand to some readers and one to others.
    ``step`` is the library's entry step for this dose (None when the drug is not in the library, which
    the checks refuse anyway).
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"enter a dose in {unit}")
    if "," in stripped:
        raise ValueError(f"{stripped!r}: use a decimal point, not a comma")
    try:
        value = float(stripped)
    except ValueError:
        raise ValueError(f"{stripped!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{stripped!r} is not a finite number")
    if value <= 0:
        raise ValueError(f"the dose must be more than 0\u00a0{unit} (to stop delivery choose the Stopped mode)")
    if not _PLAIN.fullmatch(stripped):
        raise ValueError(f"{stripped!r}: type the dose with the digits 0-9 and at most one decimal point, "
                         "such as 187.5")
    if step is not None:
        _check_places(stripped, unit, step)
    return value


def _check_places(text: str, unit: str, step: float) -> None:
    allowed = decimal_places(step)
    typed = len(text.partition(".")[2])
    if typed > allowed:
        limit = "whole numbers only" if allowed == 0 else f"at most {_places(allowed)}"
        raise ValueError(f"{text} has {_places(typed)}, but this dose is entered in steps of "
                         f"{step:.{allowed}f}\u00a0{unit} ({limit}). Check the whole number: the field may still "
                         "hold the old dose")


def _places(n: int) -> str:
    return f"{n} decimal place" if n == 1 else f"{n} decimal places"


def cell_move(key: Move, cursor: int, length: int, selected: int) -> Move | None:
    """Whether a key pressed in a flex cell's editor leaves the cell (the move) or edits its text (None).

    Left and Right edit the text except past its ends: Left with the cursor at the start, Right at the end,
    either while the whole text is selected (as it is on arriving in a cell, before any editing). So a start
    time typed and then Right goes to the dose, and Left in the middle of "07:30" moves the cursor. Up, Down,
    Tab, Shift+Tab and Enter always leave the cell: a cell holds one line.
    """
    untouched = selected == length
    if key == "left":
        return key if untouched or (selected == 0 and cursor == 0) else None
    if key == "right":
        return key if untouched or (selected == 0 and cursor == length) else None
    return key


def neighbour(move: Move, row: int, column: int, rows: int, columns: int) -> tuple[int, int] | None:
    """The cell a move goes to among ``rows`` x ``columns`` editable cells, or None at the table's edge.

    Enter goes down the same column, as in a spreadsheet: a flex schedule is entered one column at a time as
    often as one row at a time, and down is where the next dose of a column is. Tab and Shift+Tab run along
    the row and on to the next (or previous) row, in reading order.
    """
    if move == "tab":
        target = (row, column + 1) if column + 1 < columns else (row + 1, 0)
    elif move == "backtab":
        target = (row, column - 1) if column > 0 else (row - 1, columns - 1)
    else:
        d_row, d_column = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0), "enter": (1, 0)}[move]
        target = (row + d_row, column + d_column)
    return target if 0 <= target[0] < rows and 0 <= target[1] < columns else None

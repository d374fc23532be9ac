"""Whether the patient in front of the clinician is the one the clinic's record has the pump implanted in: the
visit's confirmation of the patient, the date of birth typed for it read strictly, and what is said meanwhile. No Qt.

Why a confirmation at all: a pump read names a patient through its binding in the record, and a pump in the wrong
patient's record (a binding made by mistake, a mix-up of two pumps) would otherwise have the record's patient
programmed while another lies on the bed. So two identifiers are checked, as clinics require: the name the clinician
reads out and the date of birth the patient gives (or the wristband), which the programmer does not show beforehand.

Why only YYYY-MM-DD: 04/12/1961 is the 4th of December in one country and the 12th of April in another, and a
date of birth read the wrong way round would be a confirmation of the wrong thing. Nothing but the ISO form is
read, and any other shape is said as not a date in that form rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

MAX_WRONG_DATES = 3
"""Dates of birth that do not match before the visit stops: enough for a slip of the keyboard, too few to guess."""
CONFIRM_MENU = "Clinic > Confirm patient\u2026"
CONFIRM_FIRST = f"Confirm the patient first ({CONFIRM_MENU})"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Identification:
    """The patient's confirmation in visit ``session_id``: ``confirmed`` once the date of birth given matched (or
    the patient was chosen in "Which patient?" in this visit), ``wrong_dates`` given so far, and ``refused``: why
    the patient was not confirmed (the clinician said it is not them, or too many dates did not match), a stop for
    the rest of the visit."""

    session_id: str
    confirmed: bool = False
    wrong_dates: int = 0
    refused: str | None = None

    @property
    def answered(self) -> bool:
        """True once there is nothing more to ask in this visit: confirmed, or stopped."""
        return self.confirmed or self.refused is not None

    def given(self, born: date, recorded: date) -> Identification:
        """After a date of birth given against the one recorded: confirmed, one more wrong date, or, at the
        ``MAX_WRONG_DATES``-th, refused."""
        if born == recorded:
            return replace(self, confirmed=True)
        wrong = self.wrong_dates + 1
        refused = (f"the date of birth given did not match theirs {wrong} times" if wrong >= MAX_WRONG_DATES
                   else None)
        return replace(self, wrong_dates=wrong, refused=refused)

    def not_this_patient(self) -> Identification:
        return replace(self, refused="the clinician said the patient in front of them is not this patient")


def read_birth_date(text: str) -> date | str:
    """The date typed, or why it is not one: only the form YYYY-MM-DD is read (no other order is guessed)."""
    typed = text.strip()
    if ISO_DATE.fullmatch(typed):
        try:
            return date.fromisoformat(typed)
        except ValueError:
            pass
    return (f"Date of birth: {typed!r} is not a date in the form YYYY-MM-DD (the year, then the month 01 to 12, "
            "then the day)")


def mismatch_text(named: str, wrong_dates: int) -> str:
    """What the dialog says of a date of birth that does not match: never the recorded date, nor the one typed."""
    left = MAX_WRONG_DATES - wrong_dates
    return (f"The date given does not match the date of birth recorded for {named}: check the patient. {left} "
            f"{'try' if left == 1 else 'tries'} left before nothing may be changed on this pump in this visit.")


def not_confirmed_stop(serial: str, named: str, refused: str) -> str:
    """The hard stop once the patient was not confirmed: for the strip, every change control and the banner."""
    return (f"STOP: pump serial {serial} is recorded as implanted in {named}, and {refused}. Nothing may be changed "
            "on it from this visit: check the pump and the patient's record. The pump can still be read.")


def unconfirmed_strip(named: str) -> str:
    """The patient strip's line while the patient is not confirmed: one line, and no date of birth."""
    return f"Patient: {named}, not confirmed yet. {CONFIRM_FIRST}."


def unconfirmed_refusal(serial: str, named: str) -> str:
    """Why a change waits while the patient is not confirmed yet."""
    return (f"{CONFIRM_FIRST}: pump serial {serial} is recorded as implanted in {named}; nothing may be changed on "
            "it until the patient in front of you is confirmed as them.")

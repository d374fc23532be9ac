"""The patient's confirmation without a window: the date of birth read only as YYYY-MM-DD, the count of wrong dates
to the stop, and the words said."""

from __future__ import annotations

from datetime import date

import pytest

from ui.view_models.identification import Identification, read_birth_date

BORN = date(1961, 12, 4)


@pytest.mark.parametrize("typed", ["04/12/1961", "12/04/1961", "1961-13-01", "1961-02-30", "19611204", "1961-12-4",
                                   "4 Dec 1961", ""])
def test_only_an_iso_date_is_read_no_other_order_guessed(typed):
    assert read_birth_date(typed) == (f"Date of birth: {typed!r} is not a date in the form YYYY-MM-DD (the year, "
                                      "then the month 01 to 12, then the day)")


def test_an_iso_date_is_read_spaces_around_ignored():
    assert read_birth_date(" 1961-12-04 ") == BORN


def test_the_right_date_confirms_and_the_third_wrong_one_stops():
    fresh = Identification("s1")
    assert not fresh.answered and fresh.given(BORN, BORN) == Identification("s1", confirmed=True)
    once = fresh.given(date(1961, 4, 12), BORN)  # day and month swapped: not the date
    assert (once.confirmed, once.wrong_dates, once.refused) == (False, 1, None)
    thrice = once.given(date(1962, 12, 4), BORN).given(date(1960, 12, 4), BORN)
    assert thrice.wrong_dates == 3 and thrice.answered and not thrice.confirmed
    assert thrice.refused == "the date of birth given did not match theirs 3 times"


def test_not_this_patient_is_a_stop():
    stopped = Identification("s1").not_this_patient()
    assert stopped.answered and not stopped.confirmed
    assert stopped.refused == "the clinician said the patient in front of them is not this patient"

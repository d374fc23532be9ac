"""The Events table's rows without a window: a description cut at a whole word with an ellipsis, never between
a figure and its unit; the rows a filter shows in the order asked; the sample texts the columns are measured
by; words made once, when asked for.

Widths here are counted in characters (``fits_in``), so every expected cut can be counted by hand; the table
measures the same way with the font (tests/ui/test_events_table.py)."""

from __future__ import annotations

from datetime import datetime

from programmer.port import PumpEvent
from ui.view_models.event_rows import DESCRIPTION, INDEX, KIND, TIME, EventRows, time_samples, widest
from ui.view_models.event_text import KIND_NAMES
from ui.view_models.format import ELLIPSIS, cut_at_word

REFILL_TEXT = ("added 14\u00a0mL, withdrawn 0\u00a0mL (pump had calculated 0\u00a0mL); drug baclofen "
               "500\u00a0mcg/mL; therapy kept")


def fits_in(characters: int):
    return lambda text: len(text) <= characters


def test_a_text_that_fits_is_shown_whole():
    assert cut_at_word(REFILL_TEXT, fits_in(len(REFILL_TEXT))) == REFILL_TEXT


def test_a_cut_keeps_whole_words_and_ends_with_an_ellipsis():
    # "added 14 mL, withdrawn 0 mL" is 27 characters, and the ellipsis one more: 28
    assert cut_at_word(REFILL_TEXT, fits_in(28)) == "added 14\u00a0mL, withdrawn 0\u00a0mL\u2026"
    # one character short of that: "0 mL" goes whole, "withdrawn" (22 characters in) stays
    assert cut_at_word(REFILL_TEXT, fits_in(27)) == "added 14\u00a0mL, withdrawn\u2026"
    # nor "withdrawn" in 22: the comma the cut leaves hanging is dropped
    assert cut_at_word(REFILL_TEXT, fits_in(22)) == "added 14\u00a0mL\u2026"
    # "... (pump had calculated 0 mL);" is 55 characters: its semicolon gives way to the ellipsis
    assert cut_at_word(REFILL_TEXT, fits_in(55)) == (
        "added 14\u00a0mL, withdrawn 0\u00a0mL (pump had calculated 0\u00a0mL)\u2026")


def test_a_figure_is_never_separated_from_its_unit():
    # "added 14…" would fit in 9 characters, but 14 and mL are joined: the cut comes before the figure
    assert cut_at_word(REFILL_TEXT, fits_in(11)) == "added\u2026"
    assert cut_at_word(REFILL_TEXT, fits_in(12)) == "added 14\u00a0mL\u2026"


def test_when_not_even_a_word_fits_the_ellipsis_alone_says_there_is_more():
    assert cut_at_word(REFILL_TEXT, fits_in(5)) == ELLIPSIS
    assert cut_at_word("withdrawn", fits_in(4)) == ELLIPSIS  # one word: never a part of it


def test_a_unit_with_a_slash_and_an_id_stay_whole():
    text = "now 188\u00a0mcg/day, was 150\u00a0mcg/day (program 5843a785)"
    assert cut_at_word(text, fits_in(19)) == "now 188\u00a0mcg/day\u2026"
    assert cut_at_word(text, fits_in(46)) == "now 188\u00a0mcg/day, was 150\u00a0mcg/day (program\u2026"


def test_the_widest_sample_is_measured_with_the_widest_digit():
    widths = {"8": 3, "W": 5}  # every other character 1

    def measure(text: str) -> float:
        return sum(widths.get(character, 1) for character in text)

    assert widest(["1011"], measure) == 12  # as "8888": no four-digit number is wider
    assert widest(["Wed 0", "Thu 00"], measure) == 5 + 1 + 1 + 1 + 3  # "Wed 8": 11, "Thu 88": 10
    assert widest([], measure) == 0


def event(index: int, hour: int, kind: str, detail: dict) -> PumpEvent:
    return PumpEvent(index, datetime(2026, 3, 2, hour), kind, detail)


LOG = [event(0, 9, "power_on", {"factory_new": True}),
       event(1, 10, "low_alarm_set", {"old_ml": 2.0, "new_ml": 4.5}),
       event(2, 12, "alarm_raised", {"code": "low_reservoir", "severity": "non_critical"}),
       event(3, 8, "clock_set", {"old": "2026-03-02T12:30:00", "new": "2026-03-02T08:00:00"}),  # set back
       event(4, 9, "alarm_raised", {"code": "eri", "severity": "non_critical"}),
       event(5, 11, "power_on", {"factory_new": False})]


def test_rows_are_filtered_by_kind_and_sorted_by_the_column_chosen():
    rows = EventRows(LOG)
    assert rows.shown("", INDEX, descending=True) == [5, 4, 3, 2, 1, 0]
    assert rows.shown("", TIME, descending=False) == [3, 0, 4, 1, 5, 2]  # 8:00, 9:00 twice in log order, ...
    assert rows.shown("", TIME, descending=True) == [2, 5, 1, 0, 4, 3]  # the two at 9:00 still in log order
    # kinds as the pump names them: alarm_raised, clock_set, low_alarm_set, power_on
    assert rows.shown("", KIND, descending=False) == [2, 4, 3, 1, 0, 5]
    assert rows.shown("power_on", INDEX, descending=True) == [5, 0]
    assert rows.shown("alarm_raised", DESCRIPTION, descending=False) == [4, 2]  # "Battery..." before "Low..."
    assert rows.shown("refill", INDEX, descending=False) == []


def test_the_kinds_are_listed_by_their_names():
    assert EventRows(LOG).kinds() == ["alarm_raised", "clock_set", "low_alarm_set", "power_on"]  # A, C, L, S


def test_each_cell_and_the_full_record_are_the_events_words():
    rows = EventRows(LOG)
    assert [rows.cell(1, column) for column in (INDEX, TIME, KIND, DESCRIPTION)] == [
        "1", "Mon 02 Mar 2026 10:00:00", "Low-reservoir alarm set",
        "low-reservoir alarm threshold from 2\u00a0mL to 4.5\u00a0mL"]
    assert rows.full(1) == ("Low-reservoir alarm set, event 1, Mon 02 Mar 2026 10:00:00 (pump clock)\n"
                            "low-reservoir alarm threshold from 2\u00a0mL to 4.5\u00a0mL\n"
                            "new_ml: 4.5\u00a0mL\n"
                            "old_ml: 2\u00a0mL")


def test_the_columns_are_measured_by_five_digits_every_weekday_and_month_and_every_kind():
    number, times, kinds = EventRows([*LOG, event(1234, 9, "prime_done", {"volume_ml": 0.25})]).column_samples()
    assert number == ("01234",)  # room for five digits however small the numbers: the column stays put
    assert EventRows([event(123_456, 9, "power_on", {"factory_new": False})]).column_samples()[0] == ("123456",)
    assert times == time_samples() and len(times) == 84
    assert {(text[:3], text[7:10]) for text in times} == {
        (weekday, month) for weekday in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        for month in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")}
    # every kind the programmer knows, whether in this log or not, and a newer firmware's one that is
    assert kinds == (*KIND_NAMES.values(), "Prime done")
    assert EventRows().column_samples()[2] == tuple(KIND_NAMES.values())

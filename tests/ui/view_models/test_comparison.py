"""The review table's rows (ui/view_models/comparison.py): the drug and its concentration, old and new, every date
on the pump clock, and "changed" decided on the values, never on the text shown."""

from __future__ import annotations

from tests.support.ui_fakes import program, snapshot
from ui.view_models.comparison import compare

BACLOFEN_2000 = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 2000}


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def rows_of(old, new) -> dict[str, tuple[str, str, bool]]:
    """The table for ``old`` (a program, or None) against ``new``, each planned on the fake pump (14 mL, midnight)."""
    rows, _ = compare(None if old is None else snapshot(old).forecast(), snapshot(new).forecast())
    return {row.label: (plain(row.old), plain(row.new), row.changed) for row in rows}


def simple(daily_dose: float, drug: dict | None = None):
    therapy = {"mode": "simple_continuous", "daily_dose": daily_dose}
    return program(therapy) if drug is None else program(therapy, drug)


def test_the_drug_and_its_concentration_lead_the_table_old_and_new():
    rows = rows_of(simple(150), simple(600, BACLOFEN_2000))
    assert list(rows)[:3] == ["Drug", "Concentration", "Mode"]
    assert rows["Drug"] == ("baclofen (doses in mcg)", "baclofen (doses in mcg)", False)
    assert rows["Concentration"] == ("500 mcg/mL", "2000 mcg/mL", True)
    # 150 mcg/day at 500 mcg/mL and 600 at 2000 are both 0.3 mL/day: the volume is the same, the dose is not.
    assert rows["Volume per day"] == ("0.3 mL/day", "0.3 mL/day", False)
    assert rows["Daily dose (mean over the cycle)"][2]


def test_with_no_program_before_every_row_is_new():
    rows = rows_of(None, simple(150))
    assert rows["Drug"] == ("no program", "baclofen (doses in mcg)", True)
    assert rows["Concentration"] == ("no program", "500 mcg/mL", True)


def test_every_date_is_on_the_pump_clock():
    rows = rows_of(simple(150), simple(160))
    for label in ("Low-reservoir alarm", "Reservoir empty"):
        assert all(text.endswith("(pump clock)") for text in rows[label][:2]), rows[label]


def test_values_that_round_to_the_same_text_are_changed_and_shown_with_the_digits_that_differ():
    # 1000 and 1000.2 mcg/day both read "1000" at four digits; at 500 mcg/mL they are 2 and 2.0004 mL/day,
    # both "2" at four digits.
    rows = rows_of(simple(1000), simple(1000.2))
    assert rows["Daily dose (mean over the cycle)"] == ("1000 mcg/day", "1000.2 mcg/day", True)
    assert rows["Volume per day"] == ("2 mL/day", "2.0004 mL/day", True)
    assert rows["Change of daily dose"] == ("", "+0.02 %", True)  # 0.2 / 1000 = 0.02 %, not "+0.0 %"
    assert rows["Concentration"] == ("500 mcg/mL", "500 mcg/mL", False)


def test_values_spelt_differently_are_the_same():
    # 150.0 mcg/day at 500.0 mcg/mL is the pump's 150 at 500, however the document spells it.
    rows = rows_of(simple(150), simple(150.0, {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500.0}))
    assert [label for label, (_, _, changed) in rows.items() if changed] == []


def test_a_float_sum_that_differs_only_in_its_last_bit_is_the_same_daily_dose():
    # 7.6 x 8 + 8.7 x 8 + 2.45 x 8 = 60.8 + 69.6 + 19.6 = 150 mcg/day, which the float sum makes
    # 149.99999999999997 (and 0.30000000000000004 mL/day): the same dose as the pump's 150, so not changed.
    flex = program({"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 7.6},
                                              {"start": "08:00", "dose_per_hour": 8.7},
                                              {"start": "16:00", "dose_per_hour": 2.45}]})
    assert snapshot(flex).forecast().mean_daily_dose != 150  # the texts of the two values differ in full ...
    rows = rows_of(simple(150), flex)
    for label in ("Daily dose (mean over the cycle)", "Volume per day", "Change of daily dose",
                  "Dose on each day of the cycle"):
        assert not rows[label][2], (label, rows[label])  # ... and the values are the same
    assert rows["Daily dose (mean over the cycle)"][:2] == ("150 mcg/day", "150 mcg/day")
    assert rows["Mode"][2] and rows["Schedule"][2]  # the settings the pump is told did change

"""The Review page: one review after another from a clean slate (three writes in a row to the real
emulator), the keyboard (tab order, mnemonics, labels and accessible names), the dose exactly as typed,
an unchanged program, "Changed?" decided on values, and a write while the link is busy."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QGroupBox, QLabel, QLineEdit

from programmer.audit import read_audit_log
from programmer.library import load_library
from tests.support.ui_actions import (LINK_TIMEOUT_MS, connect, edit_the_dose, open_review, sign, type_daily_dose,
                                      wait_for_patient, write_and_wait)
from tests.support.ui_fakes import program, snapshot
from ui.view_models.comparison import compare, headline
from ui.view_models.draft import Draft, evaluate
from ui.main_window import OVERVIEW_TAB, REVIEW_TAB, MainWindow
from ui.review import ReviewPage
from ui.view_models.mnemonics import mnemonic_letter

LIBRARY = load_library()
KEY_TIMEOUT_MS = 2_000
"""Bound for a mnemonic's click, which Qt animates for a tenth of a second."""


def plain(text: str) -> str:
    """Screen text with its no-break spaces (between a figure and its unit) read as spaces."""
    return text.replace("\u00a0", " ")


# --- the window, as a clinician uses it ------------------------------------------------------------------


def assert_fresh(review: ReviewPage) -> None:
    """Nothing of an earlier review or write: no name, nothing ticked or typed, every input usable."""
    assert review.clinician.text() == "" and not review.confirm.isChecked() and not review.writing
    inputs = [review.clinician, review.confirm, review.back, *(w for pair in review._ack_widgets for w in pair)]
    assert all(widget.isEnabled() for widget in inputs)
    assert not any(check.isChecked() or reason.text() for check, reason in review._ack_widgets)
    assert not review.write.isEnabled()
    said = review.blockers.text()
    assert "enter the clinician's name" in said and "tick the confirmation" in said and "Not written" not in said


def test_three_changes_are_written_one_after_another_without_reconnecting(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    # 150 -> 165 -> 180 -> 195 mcg/day: each within 20 % of the one before; the last is +30 % on the
    # 150 that ran 24 h ago (pump clock), so its review needs an acknowledgement the others did not.
    for dose, warnings in (("165", []), ("180", []), ("195", ["CHANGE_24H_ABOVE_SOFT_LIMIT"])):
        type_daily_dose(qtbot, window, dose)
        asked = window.editor.evaluation.program
        review = open_review(qtbot, window)
        assert [ack.finding.code for ack in review.gate.acknowledgements] == warnings
        assert_fresh(review)
        sign(qtbot, review)
        write_and_wait(qtbot, window)
        assert window.banner.title.text() == "Written and verified.", window.banner.text.text()
        assert window.snapshot.active.program == asked and window.snapshot.active.checksum == asked.checksum()
        assert window.tabs.currentIndex() == OVERVIEW_TAB and not window.tabs.isTabEnabled(REVIEW_TAB)
    assert window.snapshot.active.program.therapy.daily_dose == 195


# --- one review's state, on the page alone ---------------------------------------------------------------


@pytest.fixture
def page(qtbot):
    page = ReviewPage(LIBRARY)
    qtbot.addWidget(page)
    return page


def evaluation_of(dose: str, pump=None):
    """What the editor hands the review when ``dose`` mcg/day is typed for a pump running ``pump``."""
    taken = pump or snapshot()
    draft = Draft.from_program(taken.active.program)
    draft.daily_dose = dose
    return evaluate(draft, taken, LIBRARY), taken


def test_a_failed_write_leaves_the_page_usable_for_a_retry(qtbot, page):
    page.start(*evaluation_of("185"))  # +23.3 %: one warning
    requests = []
    page.commit_requested.connect(lambda review, clinician: requests.append(clinician))
    sign(qtbot, page)
    page.write.click()
    assert requests == ["Dr A. Osei"] and page.writing
    assert not any(w.isEnabled() for w in (page.clinician, page.confirm, page.back, page.write, page.warnings_box))
    page.set_writing(False)  # the main window, after a write that failed
    assert all(w.isEnabled() for w in (page.clinician, page.confirm, page.back, page.write, page.warnings_box))
    assert page.blockers.text() == "Ready to write."
    page.write.click()
    assert requests == ["Dr A. Osei"] * 2


def test_finish_leaves_nothing_of_the_review_and_the_next_one_starts_clean(qtbot, page):
    page.start(*evaluation_of("185"))
    sign(qtbot, page)
    page.write.click()
    page.finish()
    assert page.gate is None and not page.isEnabled() and page.table.rowCount() == 0 and page.change.text() == ""
    assert page.clinician.text() == "" and not page.confirm.isChecked() and page.blockers.text() == ""
    page.start(*evaluation_of("190"))
    assert_fresh(page)
    assert [ack.finding.code for ack in page.gate.acknowledgements] == ["CHANGE_ABOVE_SOFT_LIMIT"]


def test_the_plots_of_the_next_review_are_drawn_ahead_and_an_open_review_keeps_its_own(qtbot, page):
    """The window hands the review the Program page's preview each time it is drawn: the review's plots draw it a
    turn later, so opening the review finds them drawn; while a review is open, they show that review only."""
    from ui.preview import PreviewPlots

    page.set_plots(PreviewPlots())
    evaluation, taken = evaluation_of("185")
    plans = (evaluation.review.current_plan, evaluation.review.plan)
    page.draw_ahead(*plans)
    qtbot.waitUntil(lambda: page.plots.plans == plans, timeout=KEY_TIMEOUT_MS)
    proposed = page.plots.rate_items["proposed"]
    # 185 mcg/day, simple continuous: 185 / 24 = 7.708333 mcg/h over the whole day
    assert list(proposed.getData()[1]) == pytest.approx([185 / 24])
    drawn = proposed.yData
    page.start(evaluation, taken)
    assert page.plots.plans == plans and proposed.yData is drawn  # left as drawn ahead, not given its data again

    other = evaluation_of("190")[0].review
    page.draw_ahead(other.current_plan, other.plan)
    QApplication.processEvents()  # the turn that would draw it ahead, had no review been open
    assert page.plots.plans == plans
    page.finish()
    page.draw_ahead(other.current_plan, other.plan)
    qtbot.waitUntil(lambda: page.plots.plans == (other.current_plan, other.plan), timeout=KEY_TIMEOUT_MS)


# --- the keyboard ------------------------------------------------------------------------------------------


def review_with_two_warnings(qtbot, window: MainWindow) -> ReviewPage:
    """185 mcg/day for a pump with 3 mL left: a change above 20 % and a low-reservoir alarm within days."""
    window._show_snapshot(snapshot(volume_ml=3.0))  # as after an interrogation; no pump needed for a screen
    wait_for_patient(qtbot, window)  # its serial matched to the patient (the clinic thread), confirmed
    type_daily_dose(qtbot, window, "185")
    review = open_review(qtbot, window)
    assert [ack.finding.code for ack in review.gate.acknowledgements] == ["CHANGE_ABOVE_SOFT_LIMIT", "LOW_ALARM_SOON"]
    return review


def test_tab_goes_through_the_page_in_reading_order(qtbot, window):
    review = review_with_two_warnings(qtbot, window)
    sign(qtbot, review)  # so that Write, too, is a tab stop
    (check_1, reason_1), (check_2, reason_2) = review._ack_widgets
    expected = [review.table, check_1, reason_1, check_2, reason_2, review.clinician, review.confirm, review.back,
                review.write]
    chain, widget = [], review.table
    while widget is not review.write:
        widget = widget.nextInFocusChain()
        chain.append(widget)
    stops = [w for w in [review.table, *chain] if w.focusPolicy() & Qt.TabFocus]
    assert stops == expected and all(w.isVisible() and w.isEnabled() for w in stops)
    review.table.setFocus()
    walked = [QApplication.focusWidget()]
    for _ in expected[1:]:
        qtbot.keyClick(walked[-1], Qt.Key_Tab)
        walked.append(QApplication.focusWidget())
    assert walked == expected


def window_letters(window: MainWindow) -> list[str]:
    """The mnemonics of the window around the page: menus, tabs, the banner's button."""
    texts = [action.text() for action in window.menuBar().actions()]
    texts += [window.tabs.tabText(i) for i in range(window.tabs.count())] + [window.banner.button.text()]
    return [letter for text in texts if (letter := mnemonic_letter(text))]


def page_mnemonics(review: ReviewPage) -> dict[str, list[str]]:
    """Each mnemonic letter of the page's visible controls, with the texts that carry it."""
    found: dict[str, list[str]] = {}
    for widget in review.findChildren(QAbstractButton) + review.findChildren(QLabel) + review.findChildren(QGroupBox):
        text = widget.title() if isinstance(widget, QGroupBox) else widget.text()
        letter = mnemonic_letter(text)
        if widget.isVisible() and letter:
            found.setdefault(letter, []).append(text)
    return found


def test_every_mnemonic_on_the_page_is_unique_in_the_window(qtbot, window):
    review = review_with_two_warnings(qtbot, window)
    mnemonics = page_mnemonics(review)
    assert {letter: texts for letter, texts in mnemonics.items() if len(texts) > 1} == {}
    assert not set(mnemonics) & set(window_letters(window)), sorted(set(mnemonics) & set(window_letters(window)))
    assert {"p", "v"} <= set(window_letters(window))  # the menus &Pump and &View are among those compared
    for label in review.findChildren(QLabel):
        if label.isVisible() and mnemonic_letter(label.text()):
            assert label.buddy() is not None, label.text()
    acknowledgements = [check.text() for check, _ in review._ack_widgets]
    assert all(mnemonic_letter(text) for text in acknowledgements)
    assert not any("_" in text for text in acknowledgements)  # no check code on the checkbox


def alt(qtbot, window: MainWindow, text: str) -> None:
    qtbot.keyClick(window, mnemonic_letter(text), Qt.AltModifier)


def test_mnemonics_tick_the_checkboxes_and_focus_the_fields(qtbot, window):
    review = review_with_two_warnings(qtbot, window)
    check, reason = review._ack_widgets[0]
    alt(qtbot, window, review.confirm.text())
    qtbot.waitUntil(review.confirm.isChecked, timeout=KEY_TIMEOUT_MS)
    alt(qtbot, window, check.text())
    qtbot.waitUntil(check.isChecked, timeout=KEY_TIMEOUT_MS)
    reason_label, = [label for label in review.findChildren(QLabel) if label.buddy() is reason]
    alt(qtbot, window, reason_label.text())
    assert QApplication.focusWidget() is reason
    name_label, = [label for label in review.findChildren(QLabel) if label.buddy() is review.clinician]
    alt(qtbot, window, name_label.text())
    assert QApplication.focusWidget() is review.clinician


def test_every_input_has_a_visible_label_an_accessible_name_and_a_description(qtbot, window):
    review = review_with_two_warnings(qtbot, window)
    inputs = [review.clinician, review.confirm, review.back, review.write,
              *(w for pair in review._ack_widgets for w in pair)]
    for widget in inputs:
        assert widget.accessibleName() and widget.accessibleDescription(), widget.text()
    labels = {label.buddy(): label for label in review.findChildren(QLabel) if label.buddy() is not None}
    for field in review.findChildren(QLineEdit):
        assert field in labels and labels[field].isVisible() and labels[field].text()
    descriptions = [check.accessibleDescription() for check, _ in review._ack_widgets]
    assert descriptions[0].startswith("Daily dose changes by +23.3 %") and "reached in" in descriptions[1]


# --- what the headline says ----------------------------------------------------------------------------------


def running(daily_dose: float):
    """A pump running ``daily_dose`` mcg/day with a full reservoir (no low-reservoir warning at high doses)."""
    return snapshot(program({"mode": "simple_continuous", "daily_dose": daily_dose}), volume_ml=20.0)


def test_the_dose_as_typed_is_echoed_in_the_headline_and_the_dose_warning(page):
    page.start(*evaluation_of(" 1187.5 ", running(1000)))  # above the 1000 mcg/day soft maximum
    assert plain(page.change.text()) == "Daily dose 1000 mcg/day \u2192 1188 mcg/day (as typed: 1187.5) (+18.8 %)"
    (check, _), = page._ack_widgets
    assert page.gate.acknowledgements[0].finding.code == "DAILY_DOSE_ABOVE_SOFT_MAX"
    assert plain(check.text()) == "&Acknowledge warning 1 (the daily dose as typed: 1187.5 mcg/day)"


def test_doses_equal_after_rounding_are_shown_with_the_digits_that_differ(page):
    page.start(*evaluation_of("1187.4", running(1187)))
    assert plain(page.change.text()) == "Daily dose 1187 mcg/day \u2192 1187.4 mcg/day (as typed: 1187.4) (+0.03 %)"
    rows = {page.table.item(r, 0).text(): [plain(page.table.item(r, c).text()) for c in (1, 2, 3)]
            for r in range(page.table.rowCount())}
    assert rows["Daily dose (mean over the cycle)"] == ["1187 mcg/day", "1187.4 mcg/day", "CHANGED"]
    assert rows["Change of daily dose"] == ["", "+0.03 %", "CHANGED"]


def test_a_flex_review_has_no_typed_dose_to_echo():
    pump = snapshot()
    draft = Draft.from_program(program({"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 6.5}]}))
    result = evaluate(draft, pump, LIBRARY)
    assert result.entered is None
    assert plain(headline(result.review, result.entered)) == "Daily dose 150 mcg/day \u2192 156 mcg/day (+4.0 %)"


def test_the_program_the_pump_runs_cannot_be_written_again(qtbot, page):
    page.start(*evaluation_of("150.0"))  # 150 as the pump has it, typed differently
    sign(qtbot, page)
    assert page.change.text() == "No change: the proposed program is the one the pump runs now"
    assert not page.write.isEnabled()
    assert "same as the pump's in every setting" in page.blockers.text() and page.blockers.isVisibleTo(page)


# --- "Changed?" --------------------------------------------------------------------------------------------


FLEX = [{"start": "00:00", "dose_per_hour": 6}, {"start": "08:00", "dose_per_hour": 7},
        {"start": "20:00", "dose_per_hour": 6}]


def rows_of(old_therapy: dict, new_therapy: dict) -> dict[str, tuple[str, str, bool]]:
    old = snapshot(program(old_therapy))
    new = snapshot(program(new_therapy)).forecast()
    rows, _ = compare(old.forecast(), new)
    return {row.label: (plain(row.old), plain(row.new), row.changed) for row in rows}


def test_a_schedule_that_differs_only_in_its_third_step_is_changed():
    later = [dict(step) for step in FLEX]
    later[2]["dose_per_hour"] = 6.5
    rows = rows_of({"mode": "flex", "steps": FLEX}, {"mode": "flex", "steps": later})
    old, new, changed = rows["Schedule"]
    assert changed and old.splitlines()[:2] == new.splitlines()[:2]
    assert new.splitlines()[2] == "day 1 20:00  6.5 mcg/h"


def test_the_same_values_spelt_differently_are_the_same():
    spelt = [{"day": 1, "start": s["start"], "dose_per_hour": float(s["dose_per_hour"])} for s in FLEX]
    rows = rows_of({"mode": "flex", "steps": FLEX}, {"mode": "flex", "cycle_days": 1, "steps": spelt})
    assert [label for label, (_, _, changed) in rows.items() if changed] == []
    assert rows["Change of daily dose"] == ("", "+0.0 %", False)


def test_derived_figures_equal_in_value_are_the_same_across_modes():
    rows = rows_of({"mode": "simple_continuous", "daily_dose": 156}, {"mode": "flex", "steps": FLEX})
    changed = {label for label, (_, _, is_changed) in rows.items() if is_changed}
    assert {"Mode", "Schedule"} <= changed  # and the dates: the flex schedule delivers faster by day
    same = {"Daily dose (mean over the cycle)", "Change of daily dose", "Volume per day", "Cycle length",
            "Dose on each day of the cycle"}
    assert not changed & same  # 6*8 + 7*12 + 6*4 = 156 mcg/day either way, however the sums round


def test_dates_in_the_table_are_on_the_pump_clock():
    rows = rows_of({"mode": "simple_continuous", "daily_dose": 150}, {"mode": "simple_continuous", "daily_dose": 160})
    for label in ("Low-reservoir alarm", "Reservoir empty"):
        old, new, changed = rows[label]
        assert changed and old.endswith(") (pump clock)") and new.endswith(") (pump clock)")
    # 12 mL above the alarm at 0.3 mL/day (150 mcg/day of 500 mcg/mL) is 40 days; at 0.32 mL/day 37.5 days
    assert rows["Low-reservoir alarm"][:2] == ("Sat 11 Apr 2026 00:00 (in 40.0 days) (pump clock)",
                                               "Wed 08 Apr 2026 12:00 (in 37.5 days) (pump clock)")


# --- a write while the link is busy ----------------------------------------------------------------------


def test_write_waits_while_the_link_is_busy_and_a_refused_request_is_said(qtbot, page):
    page.start(*evaluation_of("165"))
    sign(qtbot, page)
    assert page.write.isEnabled()
    page.set_link_busy(True)
    assert not page.write.isEnabled() and "busy with the pump" in page.blockers.text()
    page.set_link_busy(False)
    assert page.write.isEnabled() and page.blockers.text() == "Ready to write."
    page.commit_requested.connect(lambda _review, _name: page.write_refused("the programmer was still interrogating"))
    page.write.click()  # a stand-in for the main window whose link would not take the request
    assert not page.writing and page.write.isEnabled() and page.confirm.isEnabled()
    assert page.blockers.text().startswith("Not written, nothing was sent to the pump: the programmer was still "
                                           "interrogating.")


def test_a_write_during_an_interrogation_waits_for_it_and_then_goes_through(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    type_daily_dose(qtbot, window, "165")
    asked = window.editor.evaluation.program
    review = open_review(qtbot, window)
    sign(qtbot, review)
    window.interrogate()  # F5, with the review open
    assert window.link.busy and not review.write.isEnabled() and "busy with the pump" in review.blockers.text()
    review.set_link_busy(False)  # as if told too late: the link itself then refuses, and the page says so
    review.write.click()
    assert not review.writing and review.gate is not None and review.confirm.isEnabled()
    assert "Not written, nothing was sent to the pump: the programmer was still interrogating" in review.blockers.text()
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert review.write.isEnabled()
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified."
    assert window.snapshot.active.program == asked


# --- the drug rows, and the clinical context of a stop or a drop -------------------------------------------


def table_rows(review: ReviewPage) -> dict[str, list[str]]:
    return {review.table.item(r, 0).text(): [plain(review.table.item(r, c).text()) for c in (1, 2, 3)]
            for r in range(review.table.rowCount())}


def test_the_table_shows_the_drug_and_its_concentration_and_dates_on_the_pump_clock(page):
    page.start(*evaluation_of("165"))
    rows = table_rows(page)
    assert [page.table.item(r, 0).text() for r in range(2)] == ["Drug", "Concentration"]
    assert rows["Drug"] == ["baclofen (doses in mcg)", "baclofen (doses in mcg)", "same"]
    assert rows["Concentration"] == ["500 mcg/mL", "500 mcg/mL", "same"]
    for label in ("Low-reservoir alarm", "Reservoir empty"):
        assert all(text.endswith("(pump clock)") for text in rows[label][:2]), rows[label]
    assert not page.context_box.isVisibleTo(page)  # +10 %: no clinical context is asked for


def stop_evaluation():
    pump = snapshot()
    draft = Draft.from_program(pump.active.program)
    draft.mode = "stopped"
    return evaluate(draft, pump, LIBRARY), pump


def test_a_stop_asks_for_the_clinical_context_then_for_a_reason_that_says_something(qtbot, page):
    evaluation, pump = stop_evaluation()
    assert evaluation.can_review and evaluation.context_at_review  # the editor lets it through to here
    page.start(evaluation, pump)
    assert page.context_box.isVisibleTo(page) and page.context.currentText() == "Not stated: the change is refused"
    assert plain(page.context_why.text()).startswith("Delivery stops (now 150 mcg/day). A stop, or a drop")
    requests = []
    page.commit_requested.connect(lambda review, clinician: requests.append(review))
    sign(qtbot, page, reasons=["explant booked for tomorrow"])
    assert not page.write.isEnabled()
    assert "choose the clinical context of this stop or drop: without one it is refused" in page.blockers.text()
    assert "hard limit" not in page.blockers.text()

    page.context.setFocus()
    qtbot.keyClick(page.context, Qt.Key_Down)  # the first context of the list: Weaning plan
    qtbot.keyClick(page.context, Qt.Key_Down)  # the second: Pump explant or replacement
    assert page.gate.review.report.clinical_context.key == "pump_explant"
    assert page.context_meaning.text().startswith("Pump explant or replacement: the pump or catheter is to be")
    assert [ack.finding.code for ack in page.gate.acknowledgements] == ["THERAPY_STOPPED"]
    (check, reason), = page._ack_widgets  # a new review: its warning is acknowledged afresh
    assert not check.isChecked() and reason.text() == ""
    check.click()
    qtbot.keyClicks(reason, "x")
    assert not page.write.isEnabled()
    assert "the reason for warning 1 says too little: a reason needs at least 10 characters" in page.blockers.text()
    reason.clear()
    qtbot.keyClicks(reason, "explant booked for tomorrow")
    assert page.write.isEnabled(), page.blockers.text()
    page.write.click()
    [review] = requests
    assert review.decision.value == "proceed"
    assert review.clinical_context() == {"needed": True, "why": "delivery stops (now 150 mcg/day)",
                                         "key": "pump_explant", "label": "Pump explant or replacement"}
    assert review.override_reason == "THERAPY_STOPPED: explant booked for tomorrow"


def test_a_60_percent_drop_is_written_with_its_context_chosen_by_keyboard(qtbot, window, patient, tmp_path):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "60")  # 60 / 150 - 1 = -60 %, beyond baclofen's hard 50 %
    qtbot.waitUntil(lambda: "clinical context" in window.editor.review_blocked.text(), timeout=LINK_TIMEOUT_MS)
    assert window.editor.review_button.isEnabled()
    review = open_review(qtbot, window)
    assert review.context_box.isVisible() and not review.write.isEnabled()
    # Tab goes from the table to the context, then to the warnings.
    review.table.setFocus()
    qtbot.keyClick(review.table, Qt.Key_Tab)
    assert QApplication.focusWidget() is review.context
    alt(qtbot, window, "C&linical context:")
    assert QApplication.focusWidget() is review.context
    for _ in range(3):  # Weaning plan, Pump explant or replacement, Intolerance or side effects
        qtbot.keyClick(review.context, Qt.Key_Down)
    assert review.context.currentData() == "intolerance"
    assert [ack.finding.code for ack in review.gate.acknowledgements] == ["DECREASE_ABOVE_HARD_LIMIT"]
    sign(qtbot, review, reasons=["sedation since the last increase"])
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified.", window.banner.text.text()
    assert window.snapshot.active.program.therapy.daily_dose == 60
    record = read_audit_log(tmp_path / "audit.jsonl")[-1]  # the window's (tests/support/ui_actions.py)
    assert (record["outcome"], record["clinical_context"]["key"]) == ("verified", "intolerance")
    assert record["override_reason"] == "DECREASE_ABOVE_HARD_LIMIT: sedation since the last increase"

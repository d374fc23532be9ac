"""The safety gate before a write, condition by condition, against the real emulator: the confirmation
tick, a hard limit (refused visibly, the limit named), a reason of only spaces, every warning's own
reason in the audit log, the clinician's name. Each condition is also checked on ``CommitGate`` alone.

Each test here was checked to fail when its condition is removed from ``ui/view_models/commit_gate.py``."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from tests.support.ui_fakes import snapshot
from programmer.library import load_library
from tests.support.ui_actions import connect, open_review, sign, type_daily_dose, write_and_wait
from ui.view_models.commit_gate import CommitGate
from ui.view_models.draft import Draft, evaluate
from ui.editor import DOSE, START
from ui.main_window import PROGRAM_TAB, REVIEW_TAB, MainWindow

LIBRARY = load_library()


def audit_records(window: MainWindow) -> list[dict]:
    """The audit log's records of changes (``attempt`` and ``outcome``; not the patient's confirmation before), one
    JSON object a line, as the write left them."""
    path = window.clinic.journal
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    return [record for record in records if record["event"] in ("attempt", "outcome")]


def assert_refused(qtbot, window: MainWindow, needed: str) -> None:
    """Write is disabled, the reason is on screen, and pressing Write anyway sends nothing."""
    review = window.review
    assert not review.write.isEnabled()
    assert review.blockers.isVisible() and needed in review.blockers.text(), review.blockers.text()
    qtbot.mouseClick(review.write, Qt.LeftButton)
    review.write.click()
    assert not window.link.busy and not review.writing and audit_records(window) == []


def gate_for(dose: str, volume_ml: float = 14.0) -> CommitGate:
    """A gate as the Review page builds it, for ``dose`` mcg/day typed for a pump running 150 mcg/day."""
    pump = snapshot(volume_ml=volume_ml)
    draft = Draft.from_program(pump.active.program)
    draft.daily_dose = dose
    return CommitGate.for_review(evaluate(draft, pump, LIBRARY).review)


def settled(gate: CommitGate) -> CommitGate:
    """Every condition met: each warning acknowledged with its own reason, a name, the confirmation."""
    for number, ack in enumerate(gate.acknowledgements, 1):
        ack.acknowledged, ack.reason = True, f"reason for warning {number}"
    gate.clinician, gate.confirmed = "Dr A. Osei", True
    return gate


# --- the confirmation --------------------------------------------------------------------------------------


def test_the_gate_needs_the_confirmation():
    gate = settled(gate_for("165"))
    assert gate.ready
    gate.confirmed = False
    assert gate.blockers() == ["tick the confirmation"]


def test_without_the_confirmation_tick_nothing_is_written(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    type_daily_dose(qtbot, window, "165")
    review = open_review(qtbot, window)
    sign(qtbot, review)
    review.confirm.click()  # untick it again
    assert_refused(qtbot, window, "tick the confirmation")
    review.confirm.click()
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified."


# --- a hard limit ----------------------------------------------------------------------------------------


def test_the_gate_refuses_a_hard_limit_whatever_else_is_settled():
    gate = settled(gate_for("2500"))
    blockers = gate.blockers()
    assert any(b.startswith("hard limit, no override: Daily dose 2500") and "hard maximum 2000" in b for b in blockers)
    assert not gate.ready


def test_a_hard_limit_is_refused_on_screen_with_the_limit_named(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    type_daily_dose(qtbot, window, "2500")
    assert not window.editor.review_button.isEnabled()
    # Were a review opened all the same, the page itself refuses: the gate does not rely on the editor.
    window.review.start(window.editor.evaluation, window.snapshot)
    window._set_tabs_enabled()
    window.show_tab(REVIEW_TAB)
    sign(qtbot, window.review)
    assert_refused(qtbot, window, "hard limit, no override: Daily dose 2500 mcg/day is above the hard maximum "
                                  "2000 mcg/day for baclofen")


# --- a reason of only spaces -------------------------------------------------------------------------------


def test_the_gate_takes_no_reason_of_only_spaces():
    gate = settled(gate_for("185"))
    gate.acknowledgements[0].reason = " \t "
    assert gate.blockers() == ["type a reason for warning 1"]


def test_the_gate_takes_no_reason_that_says_nothing():
    gate = settled(gate_for("185"))
    assert gate.ready
    for said_nothing in ("x", ".", "...........", "ok ok ok ok"):  # the last: 11 characters, 2 different letters
        gate.acknowledgements[0].reason = said_nothing
        assert gate.blockers() == ["the reason for warning 1 says too little: a reason needs at least 10 characters, "
                                   "at least 2 words of two or more letters and at least 4 different letters"]


def test_the_gate_asks_for_the_clinical_context_of_a_stop_not_for_a_hard_limit():
    pump = snapshot()
    draft = Draft.from_program(pump.active.program)
    draft.mode = "stopped"
    gate = settled(CommitGate.for_review(evaluate(draft, pump, LIBRARY).review))
    assert gate.blockers() == ["choose the clinical context of this stop or drop: without one it is refused"]


def test_a_reason_of_only_spaces_writes_nothing(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    type_daily_dose(qtbot, window, "185")  # +23.3 %: one warning
    review = open_review(qtbot, window)
    sign(qtbot, review, reasons=["    "])
    assert_refused(qtbot, window, "type a reason for warning 1")
    qtbot.keyClicks(review._ack_widgets[0][1], "titration agreed")
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified."


# --- every warning's reason ------------------------------------------------------------------------------


def test_the_gate_names_each_unsettled_warning_by_its_number_on_the_page_not_its_code():
    gate = settled(gate_for("185", volume_ml=3.0))  # two warnings: the change, then the low-reservoir alarm
    gate.acknowledgements[0].acknowledged = False
    gate.acknowledgements[1].reason = ""
    assert gate.blockers() == ["tick \u201cAcknowledge warning 1\u201d", "type a reason for warning 2"]


def test_the_gate_records_every_warnings_reason_with_its_code():
    gate = settled(gate_for("185", volume_ml=3.0))  # a change above 20 % and the low-reservoir alarm in days
    gate.acknowledgements[1].reason = "  refill booked for Monday "
    assert gate.override_reason() == ("CHANGE_ABOVE_SOFT_LIMIT: reason for warning 1; LOW_ALARM_SOON: refill booked "
                                      "for Monday")


def change_to_a_flex_with_a_peak(window: MainWindow) -> None:
    """150 mcg/day -> flex 00:00 7, 12:00 30, 13:00 7 mcg/h: 7*12 + 30 + 7*11 = 191 mcg/day (+27.3 %), and
    one hour at 3.77 times the day's mean rate: two warnings, of two codes."""
    window.show_tab(PROGRAM_TAB)
    editor = window.editor
    editor.mode.setCurrentIndex(editor.mode.findData("flex"))
    editor.table.item(0, DOSE).setText("7")
    editor.table.setCurrentCell(0, DOSE)
    editor.add_button.click()
    editor.table.item(1, START).setText("12:00")
    editor.table.item(1, DOSE).setText("30")
    editor.add_button.click()
    editor.table.item(2, START).setText("13:00")
    editor.table.item(2, DOSE).setText("7")


def test_each_warnings_own_reason_reaches_the_audit_log_with_its_code(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    change_to_a_flex_with_a_peak(window)
    asked = window.editor.evaluation.program
    review = open_review(qtbot, window)
    codes = [ack.finding.code for ack in review.gate.acknowledgements]
    assert codes == ["PEAK_RATE_ABOVE_SOFT_LIMIT", "CHANGE_ABOVE_SOFT_LIMIT"]
    sign(qtbot, review, reasons=["evening spasms, agreed with the patient", "titration plan of 3 March"])
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified." and window.snapshot.active.program == asked
    attempt, outcome = audit_records(window)
    assert (attempt["event"], outcome["event"], outcome["outcome"]) == ("attempt", "outcome", "verified")
    for record in (attempt, outcome):
        assert record["override_reason"] == ("PEAK_RATE_ABOVE_SOFT_LIMIT: evening spasms, agreed with the patient; "
                                             "CHANGE_ABOVE_SOFT_LIMIT: titration plan of 3 March")
        assert {f["code"] for f in record["findings"]} >= set(codes)
        assert record["new_checksum"] == asked.checksum()


# --- the clinician's name --------------------------------------------------------------------------------


def test_the_gate_needs_a_name_not_spaces():
    gate = settled(gate_for("165"))
    gate.clinician = "   "
    assert gate.blockers() == ["enter the clinician's name"]


def test_without_the_clinicians_name_nothing_is_written(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    type_daily_dose(qtbot, window, "165")
    review = open_review(qtbot, window)
    sign(qtbot, review, clinician="   ")
    assert_refused(qtbot, window, "enter the clinician's name")
    qtbot.keyClicks(review.clinician, "Dr B. Mensah ")
    assert_refused(qtbot, window, "type your own name as you signed in (Dr A. Osei)")
    review.clinician.clear()
    qtbot.keyClicks(review.clinician, "dr a. osei ")  # letter case and spaces aside: the signed-in name
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified."
    records = audit_records(window)
    assert {(r["clinician"], r["user"], r["role"]) for r in records} == {("Dr A. Osei", "osei", "clinician")}


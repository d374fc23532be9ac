"""The Bolus page end to end against the real emulator (run 60 times faster than real time, so a minute's bolus
takes a second): a therapeutic bolus reviewed (its total, per hour, in mL and the next 24 h), given, watched to its
end, and another stopped half way; the audit log keeps both. A prime, the demand dose set and verified, and the
patient's presses (the Emulator menu) counted on the Overview. A bolus whose link failed is shown uncertain."""

from __future__ import annotations

from PySide6.QtCore import Qt

from programmer.audit import read_audit_log
from programmer.errors import LinkError
from tests.support.clinic_fixtures import PASSWORD, TESS
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect, wait_for_record
from ui.emulator import set_up_demo_patient
from ui.link import Failure, GiveBolus
from ui.main_window import BOLUS_TAB, PRESS_BUTTON_TEXT, MainWindow


def nb(text: str) -> str:
    return text.replace("~", "\u00a0")


def give(qtbot, window: MainWindow, dose: str, minutes: str) -> str:
    """Type, sign and give a bolus; the figures the page showed when it was given."""
    page = window.bolus
    for field, text in ((page.dose, dose), (page.duration, minutes)):
        field.selectAll()
        qtbot.keyClicks(field, text)
    if not page.clinician.text():
        qtbot.keyClicks(page.clinician, "Dr A. Osei")
    page.confirm.setChecked(True)
    assert page.give.isEnabled(), page.blockers.text()
    figures = page.figures.text()
    qtbot.mouseClick(page.give, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.watching is not None, timeout=LINK_TIMEOUT_MS)
    return figures


def test_a_bolus_given_and_watched_to_its_end_then_one_stopped(qtbot, window: MainWindow, start_emulator, tmp_path):
    emulator = start_emulator("--service", "--speed", "60")
    set_up_demo_patient(emulator.url)  # baclofen 500 mcg/mL at 150 mcg/day
    connect(qtbot, window, emulator.url)
    window.bolus_poll.setInterval(50)
    window.show_tab(BOLUS_TAB)
    page = window.bolus

    # 10 mcg over 1 min: 600 mcg/h; 10 / 500 = 0.02 mL at 1.2 mL/h; the next 24 h: 150 + 10 = 160 mcg.
    assert give(qtbot, window, "10", "1") == nb("10~mcg in total over 1~min = 600~mcg/h; 0.02~mL at 1.2~mL/h. In the next 24~h "
                                     "with the basal program: 160~mcg (boluses in the last 24~h: 0~mcg).")
    assert page.outcome.text().startswith("Therapeutic bolus b-"), page.outcome.text()
    qtbot.waitUntil(lambda: page.watching is None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert page.progress_text.text().endswith(nb("done: 10~mcg of 10~mcg delivered.")), page.progress_text.text()

    # 20 mcg over an hour, stopped after a part of it: the rest is never given.
    assert nb("(boluses in the last 24~h: 10~mcg)") in give(qtbot, window, "20", "60")
    qtbot.waitUntil(lambda: page.bar.value() > 0, timeout=LINK_TIMEOUT_MS)
    qtbot.mouseClick(page.stop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.watching is None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert " stopped: " in page.progress_text.text() and "the rest will not be" in page.progress_text.text()
    assert window.snapshot is not None and window.snapshot.status.bolus is None

    boluses = [r for r in read_audit_log(tmp_path / "audit.jsonl") if r["action"] == "bolus" and r["outcome"]]
    assert [r["outcome"] for r in boluses] == ["verified", "verified"]
    assert [r["bolus"]["dose"] for r in boluses] == [10.0, 20.0]


def choose(page, kind: str) -> None:
    page.kind.setCurrentIndex(page.kind.findData(kind))


def sign_and_give(qtbot, window: MainWindow) -> None:
    page = window.bolus
    if not page.clinician.text():
        qtbot.keyClicks(page.clinician, "Dr A. Osei")
    page.confirm.setChecked(True)
    assert page.give.isEnabled(), page.blockers.text()
    qtbot.mouseClick(page.give, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.sending and not window.link.busy, timeout=LINK_TIMEOUT_MS)


def press_the_button(qtbot, window: MainWindow) -> None:
    """The Emulator menu's tester control, as the demo offers it: a tester's, so the test's tester signs in."""
    if window.clinic.user is None or window.clinic.user.username != TESS.username:
        window.visit_controls.sign_out()
        window.visit_controls.signed_in(window.clinic.store.users.authenticate(TESS.username, PASSWORD))
        wait_for_record(qtbot, window)
    action = next(a for a in window.emulator_menu.actions() if a.text() == PRESS_BUTTON_TEXT)
    assert window.emulator_menu.menuAction().isVisible()  # the pump is the emulator
    action.trigger()
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text().startswith("Demand button"),
                    timeout=LINK_TIMEOUT_MS)


def test_a_prime_then_the_demand_dose_set_and_the_patients_presses_counted(qtbot, window: MainWindow, patient):
    connect(qtbot, window, patient.url)
    window.show_tab(BOLUS_TAB)
    page = window.bolus

    # A prime after an implant: 0.15 mL of tubing + 60 cm x 0.0026 mL/cm = 0.306 mL, the volume never typed.
    choose(page, "prime")
    qtbot.keyClicks(page.catheter, "60")
    page.prime_reason.setCurrentIndex(page.prime_reason.findData("implant"))
    assert nb("0.306~mL (computed, not typed)") in page.figures.text()
    sign_and_give(qtbot, window)
    assert page.outcome.text().startswith("Prime bolus b-"), page.outcome.text()
    assert window.snapshot is not None and window.snapshot.status.bolus is not None
    assert window.snapshot.status.bolus.kind == "prime" and window.snapshot.status.line.catheter_cm == 60.0
    qtbot.mouseClick(page.stop, Qt.MouseButton.LeftButton)  # stopped: it would take 18 min
    qtbot.waitUntil(lambda: page.watching is None and not window.link.busy, timeout=LINK_TIMEOUT_MS)

    # The demand dose: 25 mcg over 10 min, 2 h apart, at most 4 a day; written and verified by its read-back.
    choose(page, "demand")
    page.demand_on.setChecked(True)
    for field, text in ((page.demand_dose, "25"), (page.demand_duration, "10"), (page.lockout, "120"),
                        (page.most, "4")):
        qtbot.keyClicks(field, text)
    assert page.figures.text().startswith(nb("25~mcg (0.05~mL) over 10~min a press, 120~min apart at least, at most "
                                             "4 a day: up to 100~mcg a day on top of the program's 150~mcg"))
    sign_and_give(qtbot, window)
    assert window.banner.title.text() == "Demand dose set and verified.", page.outcome.text()
    assert window.overview.demand.values["settings"].text().startswith(nb("on: 25~mcg over 10~min a press"))

    # The patient presses twice: the first gives a dose, the second, inside the lockout, nothing.
    press_the_button(qtbot, window)
    assert window.banner.title.text() == "Demand button pressed: a dose was given."
    press_the_button(qtbot, window)
    assert window.banner.title.text() == "Demand button pressed: nothing given."
    assert window.overview.demand.values["use"].text().startswith("1 given, 1 refused in 7 days")


def test_a_bolus_whose_link_failed_is_shown_uncertain_never_as_not_given(window: MainWindow):
    window.link.failed.emit(GiveBolus(None, window.clinic.visit), Failure(LinkError("bolus: no answer after 4 tries",
                                                                             step="bolus")))
    text = window.bolus.outcome.text()
    assert text.startswith("UNCERTAIN: Bolus: no answer after 4 tries.") and "reconnect and read the pump" in text

"""The refill wizard end to end against the real emulator, with the keyboard only: opened from the Pump menu's
shortcut, every step in turn, the withdrawal stopping the refill before anything is injected, the syringe
stated, the volume added held to what fits, the refill recorded and verified, and the new dates shown; and a
refill that failed, worded from the kind of its failure."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from programmer.audit import read_audit_log
from ui.emulator import set_up_demo_patient
from programmer.errors import AuditError, LinkError
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect
from ui.main_window import PROGRAM_TAB
from ui.link import Failure, Refill
from ui.main_window import MainWindow
from ui.refill_wizard import EXPECT, INJECT, RESULT, SYRINGE, WITHDRAW, RefillWizard
from ui.view_models.format import PUMP_CLOCK, dated
from ui.view_models.mnemonics import mnemonic_letter

KEY_TIMEOUT_MS = 2_000
APPLICATION_DOC = Path(__file__).resolve().parents[2] / "docs" / "application.md"


def nb(text: str) -> str:
    return text.replace("~", "\u00a0")


def focused() -> QWidget:
    return QApplication.focusWidget()


def alt(qtbot, letter: str) -> None:
    """Alt+letter, as a clinician presses it: to whatever has the focus."""
    qtbot.keyClick(focused(), letter, Qt.KeyboardModifier.AltModifier)


def go_on(qtbot, wizard: RefillWizard, letter: str, page: int) -> None:
    """A button's letter: it clicks as a mouse would, a moment later (Qt animates the press), then the page."""
    alt(qtbot, letter)
    qtbot.waitUntil(lambda: wizard.pages.currentIndex() == page, timeout=LINK_TIMEOUT_MS)


def type_here(qtbot, text: str) -> None:
    """Replace the focused field's text by typing, key by key."""
    qtbot.keyClick(focused(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(focused(), text)


def shown_letters(wizard: RefillWizard) -> list[tuple[str, str]]:
    """(letter, text) of every keyboard letter the step shows: its labels' and its buttons'."""
    texts = [w.text() for w in wizard.findChildren(QLabel) if w.isVisible() and w.buddy() is not None]
    texts += [b.text() for b in wizard.findChildren(QPushButton) if b.isVisible()]
    return [(letter, text.replace("&", "")) for text in texts if (letter := mnemonic_letter(text))]


def letters_are_unique(wizard: RefillWizard) -> bool:
    letters = [letter for letter, _ in shown_letters(wizard)]
    return len(letters) == len(set(letters))


def documented_letters() -> dict[int, dict[str, str]]:
    """Step index -> letter -> control, from the wizard's table in docs/application.md."""
    found: dict[int, dict[str, str]] = {}
    for step, letter, control in re.findall(r"^\| (\d) \w+ \| Alt\+([A-Z]) \| (.+?) \|$", APPLICATION_DOC.read_text(),
                                            re.MULTILINE):
        found.setdefault(int(step) - 1, {})[letter.lower()] = control
    return found


def letters_as_documented(wizard: RefillWizard) -> bool:
    """The step's letters are the documented ones, Back and Next aside (documented once for every step), and a
    reason field's letter only while its field shows (when the step needs a reason)."""
    shown = {letter: text for letter, text in shown_letters(wizard) if text not in ("Back", "Next")
             or wizard.pages.currentIndex() == EXPECT}
    documented = {letter: control for letter, control in documented_letters()[wizard.pages.currentIndex()].items()
                  if not control.startswith(("Reason for", "Give a bridge")) or letter in shown}
    return shown.keys() == documented.keys() and all(shown[k].startswith(v.removesuffix("…"))
                                                     for k, v in documented.items())


def open_wizard(qtbot, window: MainWindow) -> RefillWizard:
    """Ctrl+Shift+F, the Pump menu's shortcut: the wizard opens, reads the pump, and takes the keyboard."""
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.refill_wizard is not None and window.refill_wizard.steps is not None
                    and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    wizard = window.refill_wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.isActiveWindow, timeout=KEY_TIMEOUT_MS)
    return wizard


def test_a_refill_from_the_wizard_with_the_keyboard_only(qtbot, window: MainWindow, patient, tmp_path):
    # The demo patient: an ITB-20 with 14 mL of baclofen 500 mcg/mL at 150 mcg/day (0.3 mL/day).
    connect(qtbot, window, patient.url)
    wizard = open_wizard(qtbot, window)

    # 1 Expect: the volume the pump calculated, and the guidance.
    assert wizard.pages.currentIndex() == EXPECT and letters_as_documented(wizard)
    assert "Expect about 14\u00a0mL back" in wizard.expected.text() and "pocket fill" in wizard.guidance.text()
    go_on(qtbot, wizard, "n", WITHDRAW)

    # 2 Withdraw: 10 of 14 mL is 4 mL short, beyond max(0.5, 1.4) mL: stop, before anything is injected.
    assert focused() is wizard.withdrawn and letters_are_unique(wizard) and letters_as_documented(wizard)
    assert not wizard.withdrawal_reason.isVisible()
    type_here(qtbot, "10")
    assert not wizard.next.isEnabled()
    assert wizard.withdrawal_verdict.text().startswith("STOP.") and "pocket fill" in wizard.withdrawal_verdict.text()
    assert wizard.withdrawal_reason.isVisible() and letters_as_documented(wizard)
    alt(qtbot, "g")
    qtbot.keyClicks(focused(), "re-placed")  # typed key by key: every partial reason is answered, none accepted
    assert not wizard.next.isEnabled() and "'re-placed' is not a reason" in wizard.withdrawal_verdict.text()
    alt(qtbot, "w")  # the label's letter takes the focus back to the field
    type_here(qtbot, "13.6")  # withdrawn again with the needle placed again: within tolerance
    assert wizard.next.isEnabled() and "within the tolerance of 1.4\u00a0mL" in wizard.withdrawal_verdict.text()
    assert not wizard.withdrawal_reason.isVisible()
    go_on(qtbot, wizard, "n", SYRINGE)

    # 3 Syringe: nothing chosen for the clinician; the pump's drug is one explicit action, the lot and expiry typed.
    assert letters_are_unique(wizard) and letters_as_documented(wizard)
    assert wizard.drug.currentIndex() == -1 and not wizard.next.isEnabled()
    assert focused() is wizard.same_drug
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: focused() is wizard.lot, timeout=KEY_TIMEOUT_MS)
    qtbot.keyClicks(focused(), "BX7340")
    alt(qtbot, "x")
    type_here(qtbot, "2020-01-31")
    assert not wizard.next.isEnabled() and "expired" in wizard.syringe_verdict.text()
    type_here(qtbot, "2099-06-30")
    assert wizard.next.isEnabled() and "same drug and concentration" in wizard.syringe_verdict.text()
    go_on(qtbot, wizard, "n", INJECT)

    # 4 Inject: about 0.4 mL may be left (14 calculated less 13.6), so 20 mL would overfill; 19.5 fits.
    assert focused() is wizard.added and letters_are_unique(wizard) and letters_as_documented(wizard)
    assert "Inject at most 19.6\u00a0mL" in wizard.fits.text() and not wizard.override.isVisible()
    type_here(qtbot, "20")
    assert not wizard.next.isEnabled() and "more than the ITB-20 reservoir's capacity" in wizard.inject_verdict.text()
    type_here(qtbot, "19.5")
    alt(qtbot, "n")
    assert focused() is wizard.clinician and not wizard.next.isEnabled()
    qtbot.keyClicks(focused(), "Dr A. Osei")
    assert wizard.next.isEnabled() and wizard.next.text() == "&Record the refill"
    go_on(qtbot, wizard, "r", RESULT)

    # 5 Result: verified by read-back, the new dates from the pump read again (19.5 mL at 0.3 mL/day: the low
    # alarm at 2 mL after 17.5 / 0.3 = 58 days 8 h, empty after 65 days).
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)
    text = wizard.outcome.text()
    assert text.startswith("Refilled and verified: reservoir 19.5 mL"), text
    assert window.snapshot is not None
    status = window.snapshot.status  # read just after the refill: a few seconds' delivery at most
    assert abs(status.volume_ml - 19.5) < 0.001
    low = dated(status.pump_time + timedelta(days=(status.volume_ml - 2) / 0.3), PUMP_CLOCK)
    empty = dated(status.pump_time + timedelta(days=status.volume_ml / 0.3), PUMP_CLOCK)
    by = dated(status.pump_time + timedelta(days=(status.volume_ml - 2) / 0.3 - 7), PUMP_CLOCK)
    assert f"Low-reservoir alarm {low}; empty {empty}. Refill by {by}, set by the low-reservoir alarm" in text
    outcome = [r for r in read_audit_log(tmp_path / "audit.jsonl") if r["action"] == "refill"][-1]
    assert (outcome["outcome"], outcome["syringe"]["lot"], outcome["syringe"]["expiry"]) == (
        "verified", "BX7340", "2099-06-30")
    assert outcome["clinician"] == "Dr A. Osei"
    assert letters_as_documented(wizard)
    alt(qtbot, "c")
    qtbot.waitUntil(lambda: window.refill_wizard is None, timeout=KEY_TIMEOUT_MS)


@pytest.mark.parametrize("error, wizard_says, banner_says", [
    (LinkError("refill: no answer after 4 tries (timeout 0.6 s)", step="refill"),
     "UNCERTAIN: whether the pump recorded the refill is not known (refill: no answer after 4 tries (timeout 0.6 s))."
     " Reconnect and interrogate before refilling again.",
     "Whether the pump recorded the refill is not known: reconnect to see it."),
    (AuditError("cannot write the audit log /a/audit.jsonl: Read-only file system", step="append to audit log"),
     "Nothing was recorded: cannot write the audit log /a/audit.jsonl: Read-only file system.",
     "cannot write the audit log /a/audit.jsonl: Read-only file system"),
])
def test_a_failed_refill_is_worded_from_the_kind_of_its_error(window, error, wizard_says, banner_says):
    wizard = RefillWizard(window.library, window)  # as open_refill leaves it, without showing it
    window.refill_wizard = wizard
    window.link.failed.emit(Refill(None, window.clinic.visit), Failure(error))
    assert wizard.pages.currentIndex() == RESULT and wizard.outcome.text() == wizard_says
    assert banner_says in window.banner.text.text()


def test_a_new_pump_is_filled_from_the_wizard_and_then_asks_about_the_first_program(qtbot, window: MainWindow,
                                                                                     start_emulator, tmp_path):
    # A factory-new ITB-20: no drug, nothing calculated. Setting it up from the application: fill it (the
    # syringe typed from its label, nothing to copy from the pump), then the first program asks what came before.
    connect(qtbot, window, start_emulator().url)
    assert window.snapshot is not None and window.snapshot.active.drug is None
    wizard = open_wizard(qtbot, window)
    go_on(qtbot, wizard, "n", WITHDRAW)
    type_here(qtbot, "0")  # nothing in a new pump, nothing withdrawn
    assert wizard.next.isEnabled()
    go_on(qtbot, wizard, "n", SYRINGE)

    assert not wizard.same_drug.isVisible() and focused() is wizard.drug  # the pump holds no drug to copy
    qtbot.keyClicks(focused(), "baclofen")
    alt(qtbot, "u")
    qtbot.keyClicks(focused(), "mcg")
    alt(qtbot, "c")
    type_here(qtbot, "500")
    alt(qtbot, "l")
    type_here(qtbot, "NP0042")
    alt(qtbot, "x")
    type_here(qtbot, "2099-06-30")
    assert (wizard.drug.currentText(), wizard.unit.currentText()) == ("baclofen", "mcg")
    assert wizard.next.isEnabled(), wizard.syringe_verdict.text()
    go_on(qtbot, wizard, "n", INJECT)

    assert "Inject at most 20\u00a0mL" in wizard.fits.text()  # nothing can be left in a new pump
    type_here(qtbot, "20")
    alt(qtbot, "n")
    qtbot.keyClicks(focused(), "Dr A. Osei")
    go_on(qtbot, wizard, "r", RESULT)
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert wizard.outcome.text().startswith("Refilled and verified: reservoir 20 mL"), wizard.outcome.text()
    alt(qtbot, "c")
    qtbot.waitUntil(lambda: window.refill_wizard is None, timeout=KEY_TIMEOUT_MS)

    # The pump now holds baclofen 500 mcg/mL and runs nothing: a first program must say what came before.
    drug = window.snapshot.active.drug
    assert drug is not None and (drug.name, drug.dose_unit, drug.concentration_per_ml) == ("baclofen", "mcg", 500)
    editor = window.editor
    editor.mode.setCurrentIndex(editor.mode.findData("simple_continuous"))
    window.show_tab(PROGRAM_TAB)
    qtbot.waitUntil(editor.prior_box.isVisible, timeout=KEY_TIMEOUT_MS)
    assert "filled while it ran nothing" in editor.prior_why.text() and not editor.review_button.isEnabled()


def test_a_concentration_change_is_recorded_only_with_its_bridge_bolus(qtbot, window: MainWindow, start_emulator):
    # The demo patient with a 60 cm catheter implanted and primed long ago: 0.15 mL of tubing + 60 x 0.0026 mL is
    # 0.306 mL of line, full of the 500 mcg/mL baclofen.
    pump = start_emulator("--catheter-cm", "60")
    set_up_demo_patient(pump.url)
    connect(qtbot, window, pump.url)
    wizard = open_wizard(qtbot, window)
    go_on(qtbot, wizard, "n", WITHDRAW)
    type_here(qtbot, f"{window.snapshot.status.volume_ml:.2f}")
    go_on(qtbot, wizard, "n", SYRINGE)
    wizard.drug.setCurrentText("baclofen")
    wizard.unit.setCurrentText("mcg")
    for field, text in ((wizard.concentration, "1000"), (wizard.lot, "BX7341"), (wizard.expiry, "2099-06-30")):
        field.setText(text)

    # Offered, on at first, with what it does; off, the refill cannot go on.
    assert wizard.bridge.isVisible() and wizard.bridge.isChecked() and wizard.next.isEnabled()
    assert nb("still hold 0.306~mL of the old 500~mcg/mL") in wizard.syringe_verdict.text()
    assert letters_are_unique(wizard) and letters_as_documented(wizard)
    wizard.bridge.setChecked(False)
    assert not wizard.next.isEnabled() and wizard.syringe_verdict.text().endswith("recorded only with its bridge "
                                                                                  "bolus: tick it.")
    wizard.bridge.setChecked(True)
    go_on(qtbot, wizard, "n", INJECT)
    type_here(qtbot, "10")
    assert "a new concentration needs a refill and a bridge bolus" in wizard.inject_verdict.text()  # a warning
    wizard.override.setText("the pharmacy now supplies 1000 mcg/mL")
    wizard.clinician.setText("Dr A. Osei")
    assert wizard.next.isEnabled(), wizard.inject_verdict.text()
    go_on(qtbot, wizard, "r", RESULT)
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert wizard.outcome.text().startswith("Refilled and verified"), wizard.outcome.text()
    bolus = window.snapshot.status.bolus
    assert bolus is not None and bolus.kind == "bridge"
    alt(qtbot, "c")
    qtbot.waitUntil(lambda: window.refill_wizard is None, timeout=KEY_TIMEOUT_MS)

"""The refill wizard end to end against the real emulator, with the keyboard only: opened from the Pump menu's
shortcut, every step in turn, the withdrawal stopping the refill before anything is injected, the syringe
stated, the volume added held to what fits, the refill recorded and verified, and the new dates shown."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from programmer.audit import read_audit_log
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect
from ui.main_window import MainWindow
from ui.refill_wizard import EXPECT, INJECT, RESULT, SYRINGE, WITHDRAW, RefillWizard
from ui.view_models.format import PUMP_CLOCK, dated
from ui.view_models.mnemonics import mnemonic_letter

KEY_TIMEOUT_MS = 2_000


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


def letters_are_unique(wizard: RefillWizard) -> bool:
    """Each keyboard letter shown on the page (and its buttons) is used once."""
    texts = [w.text() for w in wizard.findChildren(QWidget) if w.isVisible() and hasattr(w, "buddy") and w.buddy()]
    texts += [b.text() for b in (wizard.back, wizard.next, wizard.cancel, wizard.same_drug) if b.isVisible()]
    letters = [letter for text in texts if (letter := mnemonic_letter(text))]
    return len(letters) == len(set(letters))


def test_a_refill_from_the_wizard_with_the_keyboard_only(qtbot, window: MainWindow, patient, tmp_path):
    # The demo patient: an ITB-20 with 14 mL of baclofen 500 mcg/mL at 150 mcg/day (0.3 mL/day).
    connect(qtbot, window, patient.url)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.refill_wizard is not None and window.refill_wizard.steps is not None
                    and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    wizard = window.refill_wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.isActiveWindow, timeout=KEY_TIMEOUT_MS)

    # 1 Expect: the volume the pump calculated, and the guidance.
    assert wizard.pages.currentIndex() == EXPECT
    assert "Expect about 14\u00a0mL back" in wizard.expected.text() and "pocket fill" in wizard.guidance.text()
    go_on(qtbot, wizard, "n", WITHDRAW)

    # 2 Withdraw: 10 of 14 mL is 4 mL short, beyond max(0.5, 1.4) mL: stop, before anything is injected.
    assert focused() is wizard.withdrawn and letters_are_unique(wizard)
    type_here(qtbot, "10")
    assert not wizard.next.isEnabled()
    assert wizard.withdrawal_verdict.text().startswith("STOP.") and "pocket fill" in wizard.withdrawal_verdict.text()
    alt(qtbot, "w")  # the label's letter takes the focus back to the field
    type_here(qtbot, "13.6")  # withdrawn again with the needle placed again: within tolerance
    assert wizard.next.isEnabled() and "within the tolerance of 1.4\u00a0mL" in wizard.withdrawal_verdict.text()
    go_on(qtbot, wizard, "n", SYRINGE)

    # 3 Syringe: nothing chosen for the clinician; the pump's drug is one explicit action, the lot and expiry typed.
    assert letters_are_unique(wizard)
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
    assert focused() is wizard.added and letters_are_unique(wizard)
    assert "Inject at most 19.6\u00a0mL" in wizard.fits.text()
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
    assert text.startswith("Refilled and verified."), text
    assert window.snapshot is not None
    status = window.snapshot.status  # read just after the refill: a few seconds' delivery at most
    assert abs(status.volume_ml - 19.5) < 0.001
    low = dated(status.pump_time + timedelta(days=(status.volume_ml - 2) / 0.3), PUMP_CLOCK)
    empty = dated(status.pump_time + timedelta(days=status.volume_ml / 0.3), PUMP_CLOCK)
    assert f"Low-reservoir alarm {low}; empty {empty}." in text
    outcome = [r for r in read_audit_log(tmp_path / "audit.jsonl") if r["action"] == "refill"][-1]
    assert (outcome["outcome"], outcome["syringe"]["lot"], outcome["syringe"]["expiry"]) == (
        "verified", "BX7340", "2099-06-30")
    assert outcome["clinician"] == "Dr A. Osei"
    alt(qtbot, "c")
    qtbot.waitUntil(lambda: window.refill_wizard is None, timeout=KEY_TIMEOUT_MS)

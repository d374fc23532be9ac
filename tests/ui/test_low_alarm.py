"""The low-reservoir alarm threshold set from the Overview against the real emulator, with the keyboard only: the
dialog opened by its letter, a value typed, confirmed and set, then read back from the pump (READ_STATUS) and
shown again on the Overview and the plots; Esc and Cancel sending nothing; a value out of the model's range
never sent, the range said. And the banner's words when the pump refuses it or the link fails.

The pump is the demo patient: an ITB-20 with 14 mL of baclofen 500 mcg/mL at 150 mcg/day (0.3 mL/day), threshold
2 mL (the factory's)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from programmer.errors import LinkError, PumpRefused
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect
from tests.support.ui_fakes import snapshot
from tests.support.another_programmer import another_programmer
from ui.link import Failure, SetLowAlarm
from ui.low_alarm_dialog import LowAlarmDialog
from ui.main_window import OVERVIEW_TAB, MainWindow
from ui.overview import OverviewPage
from ui.view_models.format import PUMP_CLOCK, dated
from ui.view_models.mnemonics import mnemonic_letter

KEY_TIMEOUT_MS = 2_000
NBSP = "\u00a0"


def focused() -> QWidget:
    return QApplication.focusWidget()


def alt(qtbot, letter: str) -> None:
    qtbot.keyClick(focused(), letter, Qt.KeyboardModifier.AltModifier)


def open_dialog(qtbot, window: MainWindow, url: str) -> LowAlarmDialog:
    """Connect, then Alt+L on the Overview: the dialog, with the focus in its field."""
    connect(qtbot, window, url)
    assert window.tabs.currentIndex() == OVERVIEW_TAB
    window.tabs.tabBar().setFocus()
    return press_its_letter(qtbot, window)


def press_its_letter(qtbot, window: MainWindow) -> LowAlarmDialog:
    alt(qtbot, "l")
    qtbot.waitUntil(lambda: window.overview.low_alarm_dialog is not None
                    and window.overview.low_alarm_dialog.field.hasFocus(), timeout=KEY_TIMEOUT_MS)
    return window.overview.low_alarm_dialog


def pump_alarm(qtbot, window: MainWindow, url: str) -> tuple[float, list[dict]]:
    """The threshold the pump holds and each one set, in its event log, read with the window disconnected."""
    with another_programmer(qtbot, window, url, reconnect=False) as driver:
        return (driver.read_status().low_alarm_ml,
                [event.detail for event in driver.read_events() if event.kind == "low_alarm_set"])


def test_set_from_the_overview_with_the_keyboard_and_read_back_from_the_pump(qtbot, window, patient):
    dialog = open_dialog(qtbot, window, patient.url)
    letters = [mnemonic_letter(w.text()) for w in dialog.findChildren(QLabel) + dialog.findChildren(QPushButton)
               + [dialog.confirm]]
    assert sorted(letter for letter in letters if letter) == ["c", "n", "s"]  # each once
    assert dialog.current.text().startswith(f"Now 2{NBSP}mL. That is 6.7{NBSP}days of delivery at this program "
                                            f"(0.3{NBSP}mL/day).")  # 2 mL / 0.3 mL/day
    assert dialog.range_note.text().startswith(f"This ITB-20 takes 1{NBSP}mL to 10{NBSP}mL")
    assert not dialog.set_button.isEnabled() and not dialog.confirm.isEnabled()

    qtbot.keyClicks(focused(), "3")
    # 14 - 3 = 11 mL at 0.3 mL/day: 36 2/3 days from the pump's clock when read.
    # Pump times are read to the second while the volume drains on: a projection made from another reading can be a
    # second apart, which may be the minute before or after when shown to the minute.
    alarm_at = window.snapshot.status.pump_time + timedelta(minutes=11 / 0.3 * 1440)
    verdict = dialog.verdict.text()
    lead = f"New: 3{NBSP}mL. That is 10.0{NBSP}days of delivery at this program (0.3{NBSP}mL/day). The alarm comes on "
    shown = [lead + dated(alarm_at + timedelta(minutes=off), PUMP_CLOCK) for off in (-1, 0, 1)]
    assert any(verdict.startswith(text) for text in shown), verdict
    assert not dialog.set_button.isEnabled()  # not before it is confirmed
    qtbot.keyClick(focused(), Qt.Key.Key_Return)  # Enter moves on to the confirmation, never sets
    qtbot.waitUntil(dialog.confirm.hasFocus, timeout=KEY_TIMEOUT_MS)
    assert dialog.isVisible() and dialog.confirm.text() == f"I have &checked: set the alarm from 2{NBSP}mL to 3{NBSP}mL"
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    assert dialog.confirm.isChecked() and dialog.set_button.isEnabled()
    alt(qtbot, "s")
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "Low-reservoir alarm set and "
                    "verified.", timeout=LINK_TIMEOUT_MS)
    assert window.overview.low_alarm_dialog is None
    assert window.banner.text.text().startswith(f"The pump reads 3{NBSP}mL (it was 2{NBSP}mL). That is 10.0{NBSP}days")

    assert pump_alarm(qtbot, window, patient.url) == (3.0, [{"old_ml": 2.0, "new_ml": 3.0}])
    # The pump was read again: the Overview's figures, the refill-by date (a week before the alarm) and the plot.
    overview = window.overview
    assert window.snapshot.status.low_alarm_ml == 3.0
    assert f"low alarm at 3{NBSP}mL" in overview.reservoir.values["volume"].text()
    new_alarm_at = window.snapshot.status.pump_time + timedelta(minutes=(window.snapshot.status.volume_ml - 3) / 0.3
                                                                * 1440)
    assert overview.reservoir.values["low_alarm"].text().startswith(dated(new_alarm_at, PUMP_CLOCK).split(" (")[0])
    assert overview.next_visit.values["refill_by"].text().startswith(
        dated(new_alarm_at - timedelta(days=7), PUMP_CLOCK))
    qtbot.waitUntil(lambda: window.preview.threshold.value() == 3.0, timeout=KEY_TIMEOUT_MS)


def test_esc_and_cancel_send_nothing(qtbot, window, patient):
    open_dialog(qtbot, window, patient.url)
    with qtbot.assertNotEmitted(window.overview.low_alarm_requested):
        qtbot.keyClicks(focused(), "3")
        qtbot.keyClick(focused(), Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: window.overview.low_alarm_dialog is None, timeout=KEY_TIMEOUT_MS)

        window.activateWindow()  # what a window manager does once a dialog closes; offscreen Qt has none
        qtbot.waitUntil(lambda: focused() is not None, timeout=KEY_TIMEOUT_MS)
        dialog = press_its_letter(qtbot, window)  # again, this time confirmed, then Cancel
        qtbot.keyClicks(focused(), "3")
        qtbot.keyClick(focused(), Qt.Key.Key_Return)
        qtbot.keyClick(focused(), Qt.Key.Key_Space)
        assert dialog.set_button.isEnabled()
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)  # to Set
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)  # to Cancel
        assert focused() is dialog.cancel_button
        qtbot.keyClick(focused(), Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: window.overview.low_alarm_dialog is None, timeout=KEY_TIMEOUT_MS)
    assert not window.link.busy and window.banner.title.text() == "Connected."
    assert pump_alarm(qtbot, window, patient.url) == (2.0, [])


def test_a_value_out_of_range_cannot_be_sent_and_says_the_range(qtbot, window, patient):
    dialog = open_dialog(qtbot, window, patient.url)
    with qtbot.assertNotEmitted(window.overview.low_alarm_requested):
        qtbot.keyClicks(focused(), "12")
        assert dialog.verdict.text() == (f"Cannot be sent: 12{NBSP}mL is above the highest threshold this ITB-20 "
                                         f"takes, 10{NBSP}mL (half its reservoir). Type 1{NBSP}mL to 10{NBSP}mL.")
        assert dialog.verdict.property("problem") == "error"
        for key, modifier in ((Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier),
                              ("c", Qt.KeyboardModifier.AltModifier), ("s", Qt.KeyboardModifier.AltModifier)):
            qtbot.keyClick(focused(), key, modifier)
        assert dialog.isVisible() and not dialog.confirm.isChecked() and not dialog.set_button.isEnabled()
        dialog.set_button.click()  # even a click on the disabled button does nothing
        assert dialog.isVisible()
        qtbot.keyClick(focused(), Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: window.overview.low_alarm_dialog is None, timeout=KEY_TIMEOUT_MS)
    assert pump_alarm(qtbot, window, patient.url) == (2.0, [])


def test_editing_the_value_clears_the_confirmation(qtbot):
    page = OverviewPage()
    qtbot.addWidget(page)
    page.show_snapshot(snapshot())
    page.set_low_alarm.click()
    dialog = page.low_alarm_dialog
    dialog.field.setText("3")
    dialog.confirm.setChecked(True)
    assert dialog.set_button.isEnabled()
    dialog.field.setText("4")
    assert not dialog.confirm.isChecked() and not dialog.set_button.isEnabled()
    dialog.confirm.setChecked(True)
    with qtbot.waitSignal(page.low_alarm_requested, timeout=KEY_TIMEOUT_MS) as sent:
        dialog.set_button.click()
    assert sent.args == [4.0]


def test_a_refusal_is_not_set_and_a_lost_link_is_uncertain(qtbot, window):
    window._show_snapshot(snapshot())
    refused = PumpRefused("OUT_OF_RANGE", "set low alarm: low_alarm_ml 12 mL is outside this ITB-20's 1 to 10 mL",
                          step="set low alarm", field="low_alarm_ml")
    window.link.failed.emit(SetLowAlarm(12.0, window.clinic.visit), Failure(refused))
    assert window.banner.title.text() == "Low-reservoir alarm NOT SET."
    assert window.banner.text.text() == (f"{refused}. The pump keeps its threshold of 2{NBSP}mL.")
    assert window.banner.action is None
    lost = Failure(LinkError("no answer from the pump", step="set low alarm"))
    window.link.failed.emit(SetLowAlarm(3.0, window.clinic.visit), lost)
    assert window.banner.title.text() == "UNCERTAIN: whether the low-reservoir alarm was set is not known."
    assert window.banner.action == "reconnect"

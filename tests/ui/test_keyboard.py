"""Every page, walked with the keyboard as a clinician without a mouse would, in each state it is used in:
Tab visits every control in the order the page is read and nothing invisible; each keyboard letter (&X)
is used once on the page and never by the window around it (menus, tabs, the banner's buttons); a label's
letter takes the focus to its field; every control has a name and every field a visible label and a
description for a screen reader.

The expected Tab orders are written out by hand from the screens (``docs/screenshots``), not read back
from the code."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSpinBox, QApplication, QComboBox,
                               QGroupBox, QLabel, QLineEdit, QWidget)

from programmer.port import DemandDose, DemandSettings, PumpEvent
from tests.support.ui_actions import LINK_TIMEOUT_MS, new_window
from tests.support.ui_fakes import dead_volume_snapshot, program, snapshot
from tests.support.another_programmer import another_programmer
from ui.editor import DOSE, START
from ui.main_window import (BANNER_ACTION_TEXTS, BOLUS_TAB, CONNECT_TAB, EVENTS_TAB, OVERVIEW_TAB, PROGRAM_TAB, REVIEW_TAB,
                            MainWindow)
from ui.view_models.mnemonics import mnemonic_letter
from ui.review import RESERVED_LETTERS

KEY_TIMEOUT_MS = 2_000


# --- the states each page is used in ------------------------------------------------------------------


def connect_page(window: MainWindow) -> list[QWidget]:
    page = window.connect_page
    return [page.ports, page.refresh, page.url, page.connect_button]


def overview(window: MainWindow) -> list[QWidget]:
    window._show_snapshot(snapshot())
    window.show_tab(OVERVIEW_TAB)
    page = window.overview
    return [page.set_clock, page.set_low_alarm, page.save_reminder, page.refresh, page.edit]


def program_simple(window: MainWindow) -> list[QWidget]:
    window._show_snapshot(snapshot())
    window.show_tab(PROGRAM_TAB)
    editor = window.editor
    return [editor.mode, editor.daily_dose, editor.reset_button, editor.review_button]


def program_stopped(window: MainWindow) -> list[QWidget]:
    program_simple(window)
    editor = window.editor
    editor.mode.setCurrentIndex(editor.mode.findData("stopped"))
    return [editor.mode, editor.reset_button, editor.review_button]


def program_first(window: MainWindow) -> list[QWidget]:
    """A pump that runs nothing (after a fill): a continuous dose asks for the patient's therapy before."""
    window._show_snapshot(snapshot(program({"mode": "stopped"})))
    window.show_tab(PROGRAM_TAB)
    editor = window.editor
    editor.mode.setCurrentIndex(editor.mode.findData("simple_continuous"))
    return [editor.mode, editor.daily_dose, editor.previous_dose, editor.new_to_itb, editor.reset_button,
            editor.review_button]


def program_flex(window: MainWindow) -> list[QWidget]:
    window._show_snapshot(snapshot(program({"mode": "flex", "cycle_days": 1, "steps": [
        {"day": 1, "start": "00:00", "dose_per_hour": 5}, {"day": 1, "start": "07:00", "dose_per_hour": 8},
        {"day": 1, "start": "13:00", "dose_per_hour": 6}, {"day": 1, "start": "21:00", "dose_per_hour": 7}]})))
    window.show_tab(PROGRAM_TAB)
    editor = window.editor
    return [editor.mode, editor.cycle_days, editor.table, editor.add_button, editor.remove_button, editor.up_button,
            editor.down_button, editor.reset_button, editor.review_button]


def review_with_two_warnings(window: MainWindow) -> list[QWidget]:
    """185 mcg/day for a pump running 150 with 3 mL left: a change above 20 % and the low alarm soon."""
    window._show_snapshot(snapshot(volume_ml=3.0))
    window.show_tab(PROGRAM_TAB)
    window.editor.daily_dose.setText("185")
    window.editor.daily_dose.textEdited.emit("185")
    window.editor.review_button.click()
    assert window.tabs.currentIndex() == REVIEW_TAB
    review = window.review
    (check_1, reason_1), (check_2, reason_2) = review._ack_widgets
    return [review.table, check_1, reason_1, check_2, reason_2, review.clinician, review.confirm, review.back]


def review_of_a_stop(window: MainWindow) -> list[QWidget]:
    """Stopping the 150 mcg/day the pump runs: the clinical context is asked for, and the stop's warning."""
    program_stopped(window)
    window.editor.review_button.click()
    assert window.tabs.currentIndex() == REVIEW_TAB
    review = window.review
    (check, reason), = review._ack_widgets
    return [review.table, review.context, check, reason, review.clinician, review.confirm, review.back]


def events(window: MainWindow) -> list[QWidget]:
    window._show_snapshot(snapshot())
    window.events.show_events([PumpEvent(0, datetime(2026, 3, 1, 9), "power_on", {"factory_new": True}),
                               PumpEvent(1, datetime(2026, 3, 1, 9, 5), "clock_set", {"old": "2026-03-01T09:05:00",
                                                                                      "new": "2026-03-01T10:05:00"})])
    window.show_tab(EVENTS_TAB)
    page = window.events
    return [page.read, page.kind, page.only_shown, page.export, page.table]


def bolus_demand(window: MainWindow) -> list[QWidget]:
    """The Bolus page's demand dose, on a pump that has one (its settings off): the kind with the most fields, whose
    letters are those of the other kinds' fields of the same meaning (Dose, Duration); the priming bolus's own
    three are documented in words (docs/application.md)."""
    window._show_snapshot(snapshot())
    window.bolus.set_snapshot(dead_volume_snapshot(), DemandSettings(DemandDose(False), "mcg", "0" * 16))
    window.show_tab(BOLUS_TAB)
    page = window.bolus
    page.kind.setCurrentIndex(page.kind.findData("demand"))
    page.demand_on.setChecked(True)
    return [page.kind, page.demand_on, page.demand_dose, page.demand_duration, page.lockout, page.most,
            page.clinician, page.confirm]


STATES: dict[str, tuple[int, Callable[[MainWindow], list[QWidget]]]] = {
    "connect": (CONNECT_TAB, connect_page),
    "overview": (OVERVIEW_TAB, overview),
    "program simple": (PROGRAM_TAB, program_simple),
    "program stopped": (PROGRAM_TAB, program_stopped),
    "program flex": (PROGRAM_TAB, program_flex),
    "program first": (PROGRAM_TAB, program_first),
    "review": (REVIEW_TAB, review_with_two_warnings),
    "review stop": (REVIEW_TAB, review_of_a_stop),
    "events": (EVENTS_TAB, events),
    "bolus demand": (BOLUS_TAB, bolus_demand),
}


def open_state(qtbot, window: MainWindow, name: str) -> tuple[QWidget, list[QWidget]]:
    tab, build = STATES[name]
    expected = build(window)
    window.show_tab(tab)
    page = window.tabs.widget(tab)
    qtbot.waitUntil(lambda: all(w.isVisible() for w in expected), timeout=KEY_TIMEOUT_MS)
    return page, expected


# --- what is looked at ----------------------------------------------------------------------------------


def window_letters(window: MainWindow) -> set[str]:
    """The letters the window around every page uses: the menus, the tabs and every button the banner can
    show (it can appear over any page at any time)."""
    texts = [action.text() for action in window.menuBar().actions()]
    texts += [window.tabs.tabText(i) for i in range(window.tabs.count())] + list(BANNER_ACTION_TEXTS)
    return {letter for text in texts if (letter := mnemonic_letter(text))}


def shown_text(widget: QWidget) -> str | None:
    if isinstance(widget, QGroupBox):
        return widget.title()
    if isinstance(widget, (QAbstractButton, QLabel)):
        return widget.text()
    return None


def page_letters(page: QWidget) -> dict[str, list[str]]:
    """Each keyboard letter of the page's visible controls, with the texts that carry it."""
    found: dict[str, list[str]] = {}
    for widget in page.findChildren(QWidget):
        text = shown_text(widget)
        letter = mnemonic_letter(text) if text and widget.isVisible() else None
        if letter:
            found.setdefault(letter, []).append(text)
    return found


def tab_stops(page: QWidget) -> list[QWidget]:
    """Every control of the page Tab should reach: visible, enabled and taking the focus from Tab."""
    return [w for w in page.findChildren(QWidget)
            if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.TabFocus and w.focusProxy() is None
            and not isinstance(w.parent(), (QAbstractSpinBox, QComboBox))
            and not _inside_item_view(w)]


def _inside_item_view(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractItemView):
            return True
        parent = parent.parentWidget()
    return False


def owner(widget: QWidget | None, stops: list[QWidget]) -> QWidget | None:
    """The tab stop a focused widget belongs to: a table's cell editor is the table's."""
    while widget is not None and widget not in stops:
        widget = widget.parentWidget()
    return widget


def walk(qtbot, stops: list[QWidget], first: QWidget, key: Qt.Key) -> list[QWidget]:
    first.setFocus(Qt.TabFocusReason)
    qtbot.waitUntil(lambda: owner(QApplication.focusWidget(), stops) is first, timeout=KEY_TIMEOUT_MS)
    walked = [first]
    for _ in range(len(stops) - 1):
        qtbot.keyClick(QApplication.focusWidget(), key)
        walked.append(owner(QApplication.focusWidget(), stops))
    return walked


FIELDS = (QLineEdit, QAbstractSpinBox, QComboBox)


# --- the tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(STATES))
def test_tab_visits_every_control_in_reading_order_and_shift_tab_goes_back(qtbot, window, state):
    page, expected = open_state(qtbot, window, state)
    enabled = [w for w in expected if w.isEnabled()]
    stops = tab_stops(page)
    assert set(stops) == set(enabled), ([w.accessibleName() or shown_text(w) for w in set(stops) ^ set(enabled)])
    assert walk(qtbot, stops, enabled[0], Qt.Key_Tab) == enabled
    assert walk(qtbot, stops, enabled[-1], Qt.Key_Backtab) == enabled[::-1]


@pytest.mark.parametrize("state", list(STATES))
def test_each_keyboard_letter_is_used_once_and_never_by_the_window_around_the_page(qtbot, window, state):
    page, _ = open_state(qtbot, window, state)
    letters = page_letters(page)
    assert {letter: texts for letter, texts in letters.items() if len(texts) > 1} == {}
    around = window_letters(window)
    assert {"p", "v", "t", "s", "1"} <= around  # the menus, the banner's two buttons and a tab are compared
    assert {letter: letters[letter] for letter in set(letters) & around} == {}


def test_the_review_page_keeps_clear_of_every_letter_of_the_window(window):
    assert window_letters(window) <= RESERVED_LETTERS  # its warnings' letters are given avoiding these


@pytest.mark.parametrize("state", list(STATES))
def test_a_labels_letter_takes_the_focus_to_its_field(qtbot, window, state):
    page, _ = open_state(qtbot, window, state)
    labels = [label for label in page.findChildren(QLabel) if label.isVisible() and mnemonic_letter(label.text())]
    for label in labels:
        field = label.buddy()
        assert field is not None and field.isVisible(), label.text()
        if not field.isEnabled():
            continue
        window.tabs.tabBar().setFocus()
        qtbot.keyClick(window, mnemonic_letter(label.text()), Qt.AltModifier)
        qtbot.waitUntil(lambda: owner(QApplication.focusWidget(), [field]) is field, timeout=KEY_TIMEOUT_MS)


@pytest.mark.parametrize("state", list(STATES))
def test_every_control_has_a_name_and_every_field_a_visible_label_and_a_description(qtbot, window, state):
    page, expected = open_state(qtbot, window, state)
    labelled = {label.buddy() for label in page.findChildren(QLabel)
                if label.isVisible() and label.buddy() is not None and label.text().strip()}
    for widget in expected:
        if isinstance(widget, QAbstractButton):
            assert widget.text().replace("&", "").strip() or widget.accessibleName(), widget
            continue
        assert widget.accessibleName(), (state, type(widget).__name__)
        assert widget.accessibleDescription(), (state, widget.accessibleName())
        if isinstance(widget, FIELDS):
            assert widget in labelled, (state, widget.accessibleName())


def test_the_flex_table_edits_stay_in_their_cells_after_the_walk(qtbot, window):
    """Walking through the flex table with Tab neither types into nor moves its cells."""
    page, expected = open_state(qtbot, window, "program flex")
    table = window.editor.table
    before = [(table.item(r, START).text(), table.item(r, DOSE).text()) for r in range(table.rowCount())]
    walk(qtbot, tab_stops(page), expected[0], Qt.Key_Tab)
    assert [(table.item(r, START).text(), table.item(r, DOSE).text()) for r in range(table.rowCount())] == before


APPLICATION_DOC = Path(__file__).resolve().parents[2] / "docs" / "application.md"
PAGE_STATES = {"Connect": ["connect"], "Overview": ["overview"], "Review": ["review", "review stop"],
               "Events": ["events"], "Bolus": ["bolus demand"],
               "Program": ["program simple", "program stopped", "program flex", "program first"]}
PER_WARNING = ("Acknowledge warning", "Reason for warning")
"""The Review page's letters given to each warning, from those left free: documented as a rule, not listed."""


def test_the_documented_letters_are_the_pages_letters(qtbot, tmp_path):
    documented: dict[str, dict[str, str]] = {}
    for page, letter, control in re.findall(r"^\| (\w+) \| Alt\+([A-Z]) \| (.+?) \|$", APPLICATION_DOC.read_text(),
                                            re.MULTILINE):
        documented.setdefault(page, {})[letter.lower()] = control.split(" (")[0].removesuffix("\u2026")
    assert set(documented) == set(PAGE_STATES)
    for page, states in PAGE_STATES.items():
        found: dict[str, str] = {}
        for state in states:
            window = new_window(qtbot, tmp_path)  # each state from a first reading, as the other tests see it
            tab_page, _ = open_state(qtbot, window, state)
            for letter, texts in page_letters(tab_page).items():
                if not texts[0].replace("&", "").startswith(PER_WARNING):
                    found[letter] = texts[0].replace("&", "")
            window.close()
        assert set(found) == set(documented[page]), page
        for letter, control in documented[page].items():
            assert found[letter].startswith(control), (page, letter, found[letter], control)


def type_keys(qtbot, text: str) -> None:
    """Type into whatever has the focus, as a keyboard does."""
    qtbot.keyClicks(QApplication.focusWidget(), text)


def press(qtbot, window: MainWindow, key, modifier=Qt.NoModifier) -> None:
    qtbot.keyClick(QApplication.focusWidget() or window, key, modifier)


def test_two_changes_in_one_visit_with_the_keyboard_alone(qtbot, window, patient):
    """Connect, change the dose, review, sign and write, then again: no mouse, no call into the window."""
    press(qtbot, window, "u", Qt.AltModifier)               # Port or URL
    type_keys(qtbot, patient.url)
    press(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.tabs.currentIndex() == OVERVIEW_TAB and not window.link.busy,
                    timeout=LINK_TIMEOUT_MS)
    # "Confirm the patient" opens with the focus in its date of birth; Return confirms
    qtbot.waitUntil(lambda: window.visit_controls.confirm_dialog is not None
                    and window.visit_controls.confirm_dialog.born.hasFocus(), timeout=LINK_TIMEOUT_MS)
    type_keys(qtbot, "1970-01-01")
    press(qtbot, window, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.visit_controls.confirm_dialog is None and window.visit_controls.ready,
                    timeout=LINK_TIMEOUT_MS)
    # The first change with the buttons' letters, the second with their shortcuts: both must act.
    for dose, review_key, write_key in (("165", ("r", Qt.AltModifier), ("w", Qt.AltModifier)),
                                        ("180", (Qt.Key_R, Qt.ControlModifier), (Qt.Key_Return, Qt.ControlModifier))):
        press(qtbot, window, "c", Qt.AltModifier)           # Change the program...
        qtbot.waitUntil(lambda: window.editor.daily_dose.hasFocus(), timeout=KEY_TIMEOUT_MS)
        type_keys(qtbot, dose)                               # replaces the whole old dose: it is selected
        press(qtbot, window, *review_key)                    # Review change (a key's click is animated)
        qtbot.waitUntil(lambda: window.tabs.currentIndex() == REVIEW_TAB, timeout=KEY_TIMEOUT_MS)
        assert window.review.gate.review.program.therapy.daily_dose == float(dose)
        press(qtbot, window, "n", Qt.AltModifier)           # Clinician's name
        type_keys(qtbot, "Dr A. Osei")
        press(qtbot, window, "c", Qt.AltModifier)           # the confirmation
        qtbot.waitUntil(window.review.confirm.isChecked, timeout=KEY_TIMEOUT_MS)
        press(qtbot, window, *write_key)                     # Write
        qtbot.waitUntil(lambda: window.review.gate is None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
        assert window.banner.title.text() == "Written and verified."
        with another_programmer(qtbot, window, window.link.url) as driver:
            assert driver.read_program().program.therapy.daily_dose == float(dose)

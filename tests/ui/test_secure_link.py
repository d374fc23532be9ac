"""The secure link in the application, against the real emulator: a pump that does not know this programmer
opens the pairing dialog, whose code pairs and lets the connection go on; a wrong code and a Cancel keep
nothing; the demo pairs its own emulator with keys in memory only; the window's session keeps other
programmers out until Pump > Disconnect; an insecure pump gets the red strip and no change.

The window here has keys of its own (a programmer id the fixtures' emulators were not paired with), in a file
of this test, so what pairing keeps, or does not keep, is read straight from that file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from programmer.library import load_library
from programmer.errors import LinkError
from programmer.pairing_keys import PairingKeys, load_pairing_keys
from programmer.port import open_driver
from tests.support.emulator_fixtures import LOOPBACK_LINK
from tests.support.ui_actions import LINK_TIMEOUT_MS, clinic_session, connect, edit_the_dose, open_review, shown, sign
from ui.app import create_window
from ui.banner import INSECURE_ALLOWED_TEXT, INSECURE_BACKGROUND, INSECURE_STYLE, INSECURE_TEXT
from ui.emulator import set_up_demo_patient
from ui.main_window import OVERVIEW_TAB, PAIR_TEXT, MainWindow
from ui.pairing_dialog import PairingDialog
from ui.view_models.mnemonics import mnemonic_letter
from ui.view_models.palette import MIN_TEXT_CONTRAST, contrast_ratio

PROGRAMMER_ID = "programmer-ui-pairing"


@pytest.fixture
def keys_path(tmp_path) -> Path:
    return tmp_path / "keys" / "pairing-keys.json"


@pytest.fixture
def unpaired_window(qtbot, tmp_path, keys_path):
    """The application's window with a programmer no emulator of the fixtures knows (its keys: ``keys_path``)."""
    options = {**LOOPBACK_LINK, "keys": PairingKeys(keys_path, PROGRAMMER_ID)}
    window = shown(qtbot, MainWindow(load_library(), clinic_session(tmp_path), options))
    yield window
    window.close()


@pytest.fixture
def pairing_pump(start_emulator):
    """The demo patient on an emulator whose pairing window is open; ``code`` is what it printed."""
    pump = start_emulator("--service", "--pairing-window", "60")
    pump.code, seconds = pump.read_pairing_code()
    assert seconds == 60 and len(pump.code) == 6 and pump.code.isdigit()
    set_up_demo_patient(pump.url)  # the run's own programmer (tests/support/pairing.py), paired at start
    return pump


def wrong(code: str) -> str:
    """Another six digits: the code plus one, 999999 becoming 000000."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def open_pairing(qtbot, window: MainWindow, url: str) -> PairingDialog:
    window.connect_to(url)
    qtbot.waitUntil(lambda: window.pairing_dialog is not None and window.pairing_dialog.isVisible(),
                    timeout=LINK_TIMEOUT_MS)
    return window.pairing_dialog


def type_code(qtbot, dialog: PairingDialog, code: str) -> None:
    qtbot.keyClicks(dialog.code, code)
    qtbot.keyClick(dialog.code, Qt.Key_Return)


def test_the_code_is_judged_as_it_is_typed_and_pair_waits_for_six_digits(qtbot):
    dialog = shown(qtbot, PairingDialog("ITB-20", "E20-000123"))
    assert dialog.windowTitle() == "Pair with this pump"
    letters = [mnemonic_letter(w.text()) for w in dialog.findChildren(QLabel) + dialog.findChildren(QPushButton)]
    assert sorted(letter for letter in letters if letter) == ["c", "p"]  # Pairing code, Pair: each once
    assert dialog.intro.text().startswith("The pump ITB-20 serial E20-000123 does not know this programmer")
    assert not dialog.pair_button.isEnabled()
    qtbot.keyClicks(dialog.code, "0427")
    assert dialog.hint.text() == "4 of 6 digits: 2 more." and not dialog.pair_button.isEnabled()
    qtbot.keyClicks(dialog.code, "x")
    assert dialog.hint.text() == "pairing code: digits 0-9 only, not 'x'; the pump shows 6 digits."
    assert dialog.code.property("problem") == "error" and not dialog.pair_button.isEnabled()
    qtbot.keyClick(dialog.code, Qt.Key_Backspace)
    with qtbot.assertNotEmitted(dialog.pair_requested):
        qtbot.keyClick(dialog.code, Qt.Key_Return)  # four digits: Enter sends nothing
    qtbot.keyClicks(dialog.code, "19")
    assert dialog.pair_button.isEnabled() and dialog.code.property("problem") == ""
    with qtbot.waitSignal(dialog.pair_requested) as asked:
        qtbot.keyClick(dialog.code, Qt.Key_Return)
    assert asked.args == ["042719"]
    # While the pump is being paired, nothing can be typed, sent again or cancelled half way.
    assert dialog.progress.isVisible() and not dialog.code.isEnabled()
    assert not dialog.pair_button.isEnabled() and not dialog.cancel_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key_Escape)
    assert dialog.isVisible()
    dialog.pairing_failed("Not paired: the code was wrong.")
    assert dialog.outcome.text() == "Not paired: the code was wrong." and dialog.outcome.isVisible()
    assert dialog.code.text() == "" and dialog.code.hasFocus() and dialog.cancel_button.isEnabled()
    dialog.cancel_button.click()
    assert not dialog.isVisible()


def test_pairing_with_the_code_the_pump_shows_continues_the_connection(qtbot, unpaired_window, pairing_pump,
                                                                       keys_path):
    window = unpaired_window
    dialog = open_pairing(qtbot, window, pairing_pump.url)
    assert dialog.intro.text().startswith(f"The pump ITB-20 serial {pairing_pump.serial} does not know")
    assert window.banner.title.text() == "Not paired with this pump." and window.snapshot is None
    type_code(qtbot, dialog, pairing_pump.code)
    qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert window.pairing_dialog is None  # closed (and deleted) once paired
    assert window.connected and window.link.secure and not window.insecure.isVisible()
    assert window.tabs.currentIndex() == OVERVIEW_TAB
    assert window.banner.title.text() == "Paired and connected."
    assert window.snapshot.identity.serial == pairing_pump.serial
    assert window.overview.therapy.values["daily"].text() == "150\u00a0mcg/day"
    kept = load_pairing_keys(keys_path)
    assert kept.programmer_id == PROGRAMMER_ID and kept.key_for(pairing_pump.serial) is not None
    window.close()
    with open_driver(pairing_pump.url, keys=kept) as driver:  # the key works on its own, in a new session
        events = driver.read_events()
    assert [(e.kind, e.detail) for e in events if e.kind in ("programmer_paired", "pairing_window_closed")] == [
        ("programmer_paired", {"programmer_id": PROGRAMMER_ID}), ("pairing_window_closed", {"reason": "paired"})]


def test_a_wrong_code_is_said_and_pairs_nothing_then_the_right_one_pairs(qtbot, unpaired_window, pairing_pump,
                                                                          keys_path):
    window = unpaired_window
    dialog = open_pairing(qtbot, window, pairing_pump.url)
    type_code(qtbot, dialog, wrong(pairing_pump.code))
    qtbot.waitUntil(lambda: dialog.outcome.isVisible() and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert dialog.outcome.text().startswith("Not paired: ")
    assert "after 3 wrong codes the pump closes its pairing window" in dialog.outcome.text()
    assert dialog.isVisible() and dialog.code.text() == "" and window.snapshot is None
    assert not keys_path.exists()  # nothing kept: the keys file was never even written
    type_code(qtbot, dialog, pairing_pump.code)  # the second of the window's three attempts
    qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert load_pairing_keys(keys_path).key_for(pairing_pump.serial) is not None


def test_three_wrong_codes_close_the_pumps_window_and_the_dialog_says_to_open_it_again(qtbot, unpaired_window,
                                                                                        pairing_pump, keys_path):
    window = unpaired_window
    dialog = open_pairing(qtbot, window, pairing_pump.url)
    for _ in range(3):  # the pump takes three codes per window
        type_code(qtbot, dialog, wrong(pairing_pump.code))
        qtbot.waitUntil(lambda: dialog.outcome.isVisible() and not window.link.busy, timeout=LINK_TIMEOUT_MS)
        dialog.outcome.hide()  # so that the next refusal is seen arriving
    type_code(qtbot, dialog, pairing_pump.code)  # right, but too late: the window closed after the third
    qtbot.waitUntil(lambda: dialog.outcome.isVisible() and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert "pairing window is not open" in dialog.outcome.text()
    assert window.snapshot is None and not keys_path.exists()
    dialog.cancel_button.click()


def test_cancel_sends_nothing_and_the_banner_offers_the_dialog_again(qtbot, unpaired_window, pairing_pump,
                                                                     keys_path):
    window = unpaired_window
    dialog = open_pairing(qtbot, window, pairing_pump.url)
    qtbot.keyClicks(dialog.code, pairing_pump.code)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: window.pairing_dialog is None)
    assert window.snapshot is None and not window.connected and not keys_path.exists()
    assert window.banner.title.text() == "Not paired with this pump." and window.banner.button.text() == PAIR_TEXT
    # The pump's window was not touched: its code still pairs, from the dialog the banner opens again.
    window.banner.button.click()
    qtbot.waitUntil(lambda: window.pairing_dialog is not None and window.pairing_dialog.isVisible())
    assert window.pairing_dialog.code.text() == ""
    type_code(qtbot, window.pairing_dialog, pairing_pump.code)
    qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert load_pairing_keys(keys_path).key_for(pairing_pump.serial) is not None


def test_the_demo_pairs_its_emulator_itself_and_keeps_the_key_in_memory_only(qtbot, tmp_path):
    store_before = load_pairing_keys()  # the run's keys file ($ITB_PAIRING_KEYS): the user's store here
    window = create_window(demo=True, audit_path=tmp_path / "audit.jsonl")
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
        assert window.pairing_dialog is None and window.link.secure and not window.insecure.isVisible()
        serial = window.snapshot.identity.serial
        emulator = window.link._worker.emulator
        assert emulator.keys.path is None and emulator.keys.key_for(serial) is not None
        assert load_pairing_keys().keys == store_before.keys  # nothing written for a demo pump
        assert window.banner.title.text() == "Connected."
    finally:
        window.close()


def test_the_windows_session_keeps_another_programmer_out_until_it_disconnects(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    with pytest.raises(LinkError, match="another programmer holds a session with this pump"):
        open_driver(patient.url).close()
    window.disconnect_pump()
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "Disconnected.",
                    timeout=LINK_TIMEOUT_MS)
    assert not window.connected and window.snapshot is not None  # the last reading stays on the screen
    assert window.link_state.text().startswith("Disconnected (showing the last reading): ITB-20 serial")
    with open_driver(patient.url) as driver:  # the pump is free for another programmer now
        assert driver.read_program().program.therapy.daily_dose == 150
    window.banner.button.click()  # Reconnect
    qtbot.waitUntil(lambda: window.connected and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert window.link_state.text().startswith("Connected: ITB-20 serial")


@pytest.fixture
def insecure_pump(start_emulator):
    """The demo patient on an emulator that speaks only the insecure protocol version 1."""
    pump = start_emulator("--service", "--insecure")
    set_up_demo_patient(pump.url, allow_insecure_link=True)
    return pump


def test_an_insecure_link_shows_the_red_strip_and_refuses_a_write(qtbot, window, insecure_pump, tmp_path):
    connect(qtbot, window, insecure_pump.url)
    assert not window.link.secure and window.insecure.isVisible() and window.insecure.text() == INSECURE_TEXT
    assert window.link_state.text().startswith("Connected over an INSECURE LINK: ITB-20 serial")
    edit_the_dose(qtbot, window, "165")
    sign(qtbot, open_review(qtbot, window))
    qtbot.mouseClick(window.review.write, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.link.busy and window.review.gate is None, timeout=LINK_TIMEOUT_MS)
    assert window.banner.title.text().startswith("NOT WRITTEN")
    assert "is not secure" in window.banner.text.text() and "nothing was written" in window.banner.text.text()
    assert window.connected and window.insecure.isVisible()  # the link stays open for reading
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(record["event"], record.get("outcome")) for record in audit] == [
        ("identification", None), ("attempt", None), ("outcome", "refused")]  # the patient confirmed, then the write
    window.close()
    with open_driver(insecure_pump.url, allow_insecure_link=True) as driver:
        assert driver.read_program().program.therapy.daily_dose == 150  # still the demo patient's


def test_the_strip_is_white_on_the_error_red_and_readable():
    assert INSECURE_BACKGROUND == "#a00000" and "color: white" in INSECURE_STYLE
    assert contrast_ratio("#ffffff", INSECURE_BACKGROUND) >= MIN_TEXT_CONTRAST  # about 8.4:1


INSECURE_REFUSAL = ("Dr A. Osei is signed in as a clinician, and a clinician may not use a link that is not encrypted: "
                    "sign in as a tester to do it.")


def test_allowed_an_insecure_link_a_clinician_changes_nothing_and_the_core_refuses_a_forced_write(
        qtbot, insecure_pump, tmp_path):
    window = create_window(clinic=clinic_session(tmp_path), allow_insecure_link=True)
    qtbot.addWidget(window)
    try:
        connect(qtbot, window, insecure_pump.url)
        assert window.insecure.isVisible() and window.insecure.text() == INSECURE_ALLOWED_TEXT
        for control in (window.overview.set_clock, window.overview.set_low_alarm, window.refill_action):
            assert not control.isEnabled() and control.toolTip() == INSECURE_REFUSAL
        assert not window.bolus.give.isEnabled()
        edit_the_dose(qtbot, window, "165")
        review = open_review(qtbot, window)
        assert not review.write.isEnabled() and review.blockers.text().startswith(INSECURE_REFUSAL)
        window._commit(review.gate.review, "Dr A. Osei")  # forced past the disabled button: the core refuses
        qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text().startswith("NOT WRITTEN"),
                        timeout=LINK_TIMEOUT_MS)
        assert ("Dr A. Osei (osei) is signed in as a clinician, and a clinician may not use a link that is not "
                "encrypted") in window.banner.text.text()
        window.set_clock()  # forced too: refused before anything is sent
        qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() != "Clock set.",
                        timeout=LINK_TIMEOUT_MS)
        assert "may not use a link that is not encrypted" in window.banner.text.text()
    finally:
        window.close()
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["action"], r["event"], r.get("outcome"), r["user"]) for r in audit] == [
        ("patient_confirmed", "identification", None, "osei"),  # at the connection, before any change
        ("write", "outcome", "refused", "osei"),  # refused before the attempt: nothing was sent
        ("set_clock", "outcome", "refused", "osei")]  # the clock's refusal is on record too (settings_commit)
    with open_driver(insecure_pump.url, allow_insecure_link=True) as driver:
        assert driver.read_program().program.therapy.daily_dose == 150


@pytest.mark.usefixtures("insecure_links_allowed")
def test_allowed_an_insecure_link_a_role_holding_its_permission_changes_the_pump(qtbot, insecure_pump, tmp_path):
    window = create_window(clinic=clinic_session(tmp_path), allow_insecure_link=True)
    qtbot.addWidget(window)
    try:
        connect(qtbot, window, insecure_pump.url)
        assert window.overview.set_clock.isEnabled()
        window.set_clock()
        qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "Clock set.",
                        timeout=LINK_TIMEOUT_MS)
    finally:
        window.close()


@pytest.mark.parametrize(("argv", "allowed"), [(["--demo"], False), (["--allow-insecure-link", "--demo"], True)])
def test_the_command_lines_option_reaches_the_application(monkeypatch, argv, allowed):
    from programmer.cli.main import main

    started = {}
    monkeypatch.setattr("ui.app.run", lambda **options: started.update(options) or 0)  # not the whole application
    assert main(argv) == 0
    assert started == {"demo": True, "allow_insecure_link": allowed, "db_url": None}

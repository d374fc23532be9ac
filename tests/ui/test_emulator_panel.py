"""Emulator > Control panel against the real emulator over its control channel: a tester drains the battery and
runs time forward and sees it in the panel and, after the next reading, in the main window; puts link faults in
force live and clears them, a wrong one refused in the emulator parser's words; saves and loads a named state; a
clinician cannot open the panel. (The channel's actions themselves are tested in process,
tests/emulator/test_control_actions.py; the bundled emulator's channel in tests/ui/test_app.py's demo.)"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from tests.support.people import TESTER
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect, new_window
from ui.emulator import set_up_demo_patient
from ui.main_window import MainWindow

CONTROL_TIMEOUT_MS = 10_000
"""Bound for a control call's answer (a loopback round trip, under load well inside it)."""


@pytest.fixture
def controlled(start_emulator):
    """The demo patient's pump (baclofen 500 mcg/mL at 150 mcg/day, 14 mL) with its control channel, its clock
    stopped (speed 1e-6) so nothing is delivered between two readings; and its control line."""
    emulator = start_emulator("--service", "--control", "--speed", "0.000001")
    url, token_file = emulator.read_control()
    set_up_demo_patient(emulator.url)
    return emulator, f"control on {url} token-file {token_file}"


def open_panel(qtbot, window: MainWindow, control_line: str):
    window.use_control_line(control_line)
    window.control_panel_action.trigger()
    panel = window.emulator_panel
    assert panel is not None and panel.isVisible()
    qtbot.waitUntil(lambda: panel.state is not None and panel.idle, timeout=CONTROL_TIMEOUT_MS)
    return panel


def act(qtbot, panel, button: QPushButton) -> None:
    button.click()  # its clicked signal, as a mouse or its mnemonic gives it
    qtbot.waitUntil(lambda: panel.idle, timeout=CONTROL_TIMEOUT_MS)


def button(panel, text: str):
    return next(b for b in panel.findChildren(QPushButton) if b.text().replace("&", "") == text)


def reread(qtbot, window: MainWindow) -> None:
    window.interrogate()
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)


def test_a_tester_drains_the_battery_and_runs_a_day_forward(qtbot, tmp_path, controlled):
    emulator, line = controlled
    window = new_window(qtbot, tmp_path, user=TESTER)
    connect(qtbot, window, emulator.url)
    assert window.control_panel_action.isEnabled()
    panel = open_panel(qtbot, window, line)
    assert panel.state["reservoir"]["volume_ml"] == pytest.approx(14.0, abs=1e-6)

    # 5 % is above ERI (3.6 %): shown, no alarm; 3 % is ERI, an alarm the programmer reads at its next reading.
    panel.battery.setValue(5)
    act(qtbot, panel, button(panel, "Set battery"))
    assert panel.state["battery"] == {"status": "ok", "percent": pytest.approx(5.0, abs=1e-3)}
    assert "battery 5 % (ok)" in panel.state_text.text() and panel.message.text() == "Battery set to 5 %."
    panel.battery.setValue(3)
    act(qtbot, panel, button(panel, "Set battery"))
    assert [alarm["code"] for alarm in panel.state["alarms"]] == ["eri"]
    reread(qtbot, window)
    assert window.overview.alarms.values["non_critical"].text().startswith("Non-critical: ")
    assert [alarm.code for alarm in window.snapshot.status.alarms] == ["eri"]

    # A day forward at 150 mcg/day of 500 mcg/mL: 150 / 500 = 0.3 mL leaves the reservoir, 14 - 0.3 = 13.7 mL.
    panel.hours.setValue(24)
    act(qtbot, panel, button(panel, "Run forward"))
    assert panel.message.text() == "Ran forward 24 h."
    assert panel.state["reservoir"]["volume_ml"] == pytest.approx(13.7, abs=1e-3)
    assert "reservoir 13.700 mL of 20 mL" in panel.state_text.text()
    window.close()
    assert not panel.isVisible()


def test_link_faults_are_put_in_force_live_checked_and_cleared(qtbot, tmp_path, controlled):
    emulator, line = controlled
    window = new_window(qtbot, tmp_path, user=TESTER)
    connect(qtbot, window, emulator.url)
    panel = open_panel(qtbot, window, line)

    panel.faults.setText("seed=3,drop=1.5")  # not a probability: the emulator's parser names the part
    act(qtbot, panel, button(panel, "Put faults in force"))
    assert panel.message.text() == "Not done: faults: fault drop=1.5 is not a probability in 0..1"
    assert panel.state["faults"]["spec"] == ""

    panel.faults.setText("seed=3,busy=0.5")  # (that it reaches the wire: tests/emulator/test_ctl.py)
    act(qtbot, panel, button(panel, "Put faults in force"))
    assert panel.state["faults"] == {"spec": "seed=3,busy=0.5", "seed": 3}
    assert "link faults: seed=3,busy=0.5 (seed 3)" in panel.state_text.text()
    assert panel.message.text() == "Link faults in force: seed=3,busy=0.5."

    act(qtbot, panel, panel.clear_faults)
    assert panel.state["faults"]["spec"] == "" and panel.message.text() == "Link faults cleared."

    # A named state: saved, listed, loaded back (a name the channel refuses is said in its words).
    panel.state_name.setText("full-at-14-mL")
    act(qtbot, panel, button(panel, "Save the state as"))
    assert panel.message.text() == "State saved as full-at-14-mL."
    assert [panel.saved.item(row).text() for row in range(panel.saved.count())] == ["full-at-14-mL"]
    panel.saved.setCurrentRow(0)
    act(qtbot, panel, panel.load)
    assert panel.message.text() == "State full-at-14-mL loaded: the programmer must connect again."
    panel.state_name.setText("../up")
    act(qtbot, panel, button(panel, "Save the state as"))
    assert panel.message.text().startswith("Not done: save: name '../up' must be 1 to 64 letters")
    window.close()


def test_a_clinician_cannot_open_the_panel(qtbot, tmp_path):
    window = new_window(qtbot, tmp_path)  # Dr Osei, a clinician
    action = window.control_panel_action
    assert not action.isEnabled()
    assert action.toolTip() == ("Dr A. Osei is signed in as a clinician, and a clinician may not control an emulated "
                                "pump: sign in as a tester to do it.")
    window.open_control_panel()  # the handler refuses too, whatever calls it
    assert window.emulator_panel is None and window.banner.title.text() == "No control panel."
    window.close()

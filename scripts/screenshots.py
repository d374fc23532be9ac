"""Render each screen of the clinician application offscreen into docs/screenshots/ (for the README).

It drives the real application against the bundled emulator, the way a clinician would: connect,
look at the overview and the low-reservoir alarm's dialog, edit a flex program, hit a hard limit, review a
change with a warning, write it, read the event log, refill the pump with the wizard (each step,
``9-refill-*.png``, and the bridge a concentration change needs), give boluses on the Bolus page (a prime, a
therapeutic bolus reviewed and running, the demand dose; ``12-bolus-*.png``) with the patient's presses on the
Overview, and lose the link. Then two more emulators: one this programmer is not paired with, whose
pairing dialog is shown with its code typed and with a wrong code refused (``10-pairing*.png``), and one that
speaks only the insecure protocol version 1, under the red strip (``11-insecure-link.png``). Then the clinic record:
the hard stop of another patient's pump read in reply to a change (``15-wrong-patient.png``), a pump no patient is
recorded for, which starts a new visit (``18-new-visit.png``), and its "Which patient?" question, plain and asking
whether it replaces the demo patient's pump (``14-which-patient*.png``), the sign-in dialog over the locked window
(``13-*.png``), and the History and Audit pages of the demo patient (``16-history.png``, ``17-audit.png``). The
clinic record is the demo's (``ui.demo_clinic``): a throwaway store, its clinician signed in (its tester, for the
Emulator menu's presses). The tester's Emulator > Control panel on the bundled
emulator, a named state saved and link faults in force (``19-emulator-panel.png``; alone:
``scripts/screenshots.py emulator-panel``).
The main screens are rendered again in the smallest window the programmer supports, 1024 x 700
(``small-*.png``), to be looked at: the layout tests say nothing is cut, a person says whether it reads
well. Run it again whenever a screen changes:

    .venv/bin/python scripts/screenshots.py [emulator-panel]
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The screens are drawn as a first start shows them: no remembered port, window size or splitter of the
# person running the script, and nothing of the run remembered afterwards.
_HOME = tempfile.mkdtemp(prefix="itb-screenshots-")
atexit.register(shutil.rmtree, _HOME, True)
for _variable in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
    os.environ[_variable] = os.path.join(_HOME, _variable.lower())
os.environ.pop("ITB_PAIRING_KEYS", None)  # the keys too: a fresh programmer, paired with nothing

from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from emulator.launch import EmulatorProcess  # noqa: E402
from programmer.library import load_library  # noqa: E402
from programmer.interrogation import read_pump  # noqa: E402
from programmer.port import open_driver  # noqa: E402
from ui.demo_clinic import (DEMO_ADMIN, DEMO_BIRTH, DEMO_PASSWORD, DEMO_PATIENT, DEMO_TESTER, DEMO_USER,  # noqa: E402
                             demo_clinic)
from ui.editor import DOSE, START  # noqa: E402
from ui.emulator import set_up_demo_patient  # noqa: E402
from ui.emulator_panel import EmulatorPanel  # noqa: E402
from ui.link import StartEmulator  # noqa: E402
from ui.main_window import (AUDIT_TAB, BOLUS_TAB, CONNECT_TAB, EVENTS_TAB, HISTORY_TAB, OVERVIEW_TAB,  # noqa: E402
                            PROGRAM_TAB, MainWindow)
from ui.widgets import STYLE_SHEET  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
TIMEOUT_S = 60
SIZE = QSize(1366, 900)
SMALL = QSize(1024, 700)
WIZARD_SIZE = QSize(720, 560)
DIALOG_SIZE = QSize(640, 360)
PAIRING_SIZE = QSize(640, 420)
PANEL_SIZE = QSize(760, 640)


def wait(app: QApplication, done, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()


def shoot(app: QApplication, window: MainWindow, name: str, small: bool = False) -> None:
    """Save the window as ``name``.png; with ``small``, also at 1024 x 700 as small-``name``.png."""
    save(app, window, name)
    if small:
        resize(app, window, SMALL)
        save(app, window, f"small-{name}")
        resize(app, window, SIZE)


def save(app: QApplication, window: QWidget, name: str) -> None:
    app.processEvents()
    window.grab().save(str(OUT / f"{name}.png"))
    print(f"wrote docs/screenshots/{name}.png")


def resize(app: QApplication, window: MainWindow, size: QSize) -> None:
    window.resize(size)
    wait(app, lambda: window.size() == size, f"the window at {size.width()} x {size.height()}")


def type_into(editor, row: int, column: int, text: str) -> None:
    editor.table.item(row, column).setText(text)


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)  # as ``ui.app.run`` does: the screens as the clinician sees them
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(load_library(), demo_clinic(Path(tmp) / "audit.jsonl"))
        window.resize(SIZE)
        window.show()
        try:
            if sys.argv[1:] == ["emulator-panel"]:
                start_emulator(app, window)
                take_emulator_panel(app, window)
            else:
                take_all(app, window)
        finally:
            window.close()


def take_all(app: QApplication, window: MainWindow) -> None:
    wait(app, lambda: window.visit_controls.ready and window.clinic.user is not None, "the demo's record")
    window.tabs.setCurrentIndex(CONNECT_TAB)
    shoot(app, window, "1-connect")

    start_emulator(app, window)
    confirm_patient(app, window, shots=True)
    shoot(app, window, "2-overview", small=True)
    take_low_alarm(app, window)

    editor = window.editor
    window.show_tab(PROGRAM_TAB)
    editor.mode.setCurrentIndex(editor.mode.findData("flex"))
    type_into(editor, 0, DOSE, "5")
    editor.table.setCurrentCell(0, DOSE)
    for start, dose in (("07:00", "7.5"), ("13:00", "6"), ("21:00", "7")):
        editor.add_button.click()
        row = editor.table.currentRow()
        type_into(editor, row, START, start)
        type_into(editor, row, DOSE, dose)
    shoot(app, window, "3-program-flex", small=True)

    type_into(editor, 1, DOSE, "75")
    shoot(app, window, "4-program-hard-limit", small=True)
    type_into(editor, 1, DOSE, "14")  # 5*7 + 14*6 + 6*8 + 7*3 = 188 mcg/day: +25 %

    editor.review_button.click()
    review = window.review
    check, reason = review._ack_widgets[0]
    check.setChecked(True)
    reason.setText("morning spasms; titration agreed with the spasticity team")
    review.clinician.setText(signer(window))
    shoot(app, window, "5-review", small=True)

    review.confirm.setChecked(True)
    review.write.click()
    wait(app, lambda: not window.link.busy and review.gate is None, "the write")
    shoot(app, window, "6-written-and-verified")

    window.show_tab(EVENTS_TAB)
    window.read_events()
    wait(app, lambda: not window.link.busy, "the event log")
    shoot(app, window, "7-events", small=True)

    take_refill(app, window)
    take_bolus(app, window)
    take_records(app, window)
    take_emulator_panel(app, window)

    window.bolus_poll.stop()  # the bolus's progress is not read while the link is lost
    wait(app, lambda: not window.link.busy, "the link to be free")
    window.link._worker.emulator.stop()  # the telemetry head is lifted off the patient
    window.show_tab(OVERVIEW_TAB)
    window.interrogate()
    wait(app, lambda: not window.link.busy and not window.connected, "the lost link")
    shoot(app, window, "8-link-lost")

    with tempfile.TemporaryDirectory() as tmp:
        take_pairing(app, window, Path(tmp))
        take_insecure_link(app, window, Path(tmp))
        take_clinic(app, window, Path(tmp))


def start_emulator(app: QApplication, window: MainWindow) -> None:
    window.link.request(StartEmulator())
    wait(app, lambda: window.snapshot is not None and not window.link.busy and window.plots_ready
         and window.visit_controls.ready, "the emulator")


def confirm_patient(app: QApplication, window: MainWindow, shots: bool = False) -> None:
    """Answer "Confirm the patient" with the demo patient's date of birth; with ``shots``, a slip of the keyboard first
    (the mismatch said) and the dialog with the right date typed."""
    controls = window.visit_controls
    wait(app, lambda: controls.confirm_dialog is not None and controls.ready, "Confirm the patient")
    dialog = controls.confirm_dialog
    assert dialog is not None, "the wait was for it"
    if shots:
        dialog.resize(PAIRING_SIZE)
        dialog.born.setText("1970-10-01")
        dialog.confirm_button.click()
        wait(app, lambda: dialog.idle, "the wrong date's answer")
        save(app, dialog, "20-confirm-patient-mismatch")
        dialog.problem.clear()
    dialog.born.setText(DEMO_BIRTH.isoformat())
    if shots:
        save(app, dialog, "20-confirm-patient")
    dialog.confirm_button.click()
    wait(app, lambda: controls.confirm_dialog is None and controls.ready, "the patient confirmed")


def take_emulator_panel(app: QApplication, window: MainWindow) -> None:
    """The tester's control panel on the bundled emulator (opened directly: the demo's user is a clinician, whom the
    menu refuses): a state saved by name, then link faults put in force; they are cleared after, so the screens
    that follow show the pump as it was."""
    control = window.link.emulator_control
    assert control is not None, "the bundled emulator runs with its control channel"
    panel = EmulatorPanel(control, window)
    panel.resize(PANEL_SIZE)
    panel.show()
    panel.state_name.setText("before-the-weekend")
    panel.ask("save", name="before-the-weekend")
    panel.faults.setText("seed=7,drop=0.05,delay=0.1:2")
    panel.ask("faults", spec="seed=7,drop=0.05,delay=0.1:2")
    wait(app, lambda: panel.idle and panel.state is not None and panel.state["faults"]["spec"] != "", "the panel")
    panel.saved.setCurrentRow(0)
    save(app, panel, "19-emulator-panel")
    panel.ask("faults", spec="")
    wait(app, lambda: panel.idle, "the faults cleared")
    panel.close()


def signer(window: MainWindow) -> str:
    """The signed-in clinician's name, which the pages ask to be typed as the signature."""
    assert window.clinic.user is not None, "the demo's clinician is signed in"
    return window.clinic.user.display_name


def take_records(app: QApplication, window: MainWindow) -> None:
    """The History and Audit pages of the demo patient, after the changes made above."""
    window.show_tab(HISTORY_TAB)
    wait(app, lambda: window.history.ready, "the History page's plots")
    shoot(app, window, "16-history")
    window.show_tab(AUDIT_TAB)
    window.audit.filter_for(DEMO_PATIENT)
    wait(app, lambda: not window.audit.reads.busy, "the audit trail's records")
    window.audit.table.selectRow(0)
    shoot(app, window, "17-audit")


def take_clinic(app: QApplication, window: MainWindow, tmp: Path) -> None:
    """Another patient's pump read in reply to a change (the hard stop); a pump no patient is recorded for, which starts
    a new visit, and its "Which patient?" question, plain and asking whether it replaces the demo patient's pump; and
    the window locked behind the sign-in dialog."""
    window.clinic.new_pumps_patient = None  # a clinic's pump: nobody's until the clinician says whose
    store = window.clinic.store
    assert store is not None, "open"
    admin = store.users.authenticate(DEMO_ADMIN, DEMO_PASSWORD)
    other = store.patients.add(admin, "MRN-2040", "Jon Other", date(1958, 11, 3))
    theirs = paired(tmp / "other-patients.json")
    set_up_demo_patient(theirs)
    with open_driver(theirs) as driver:
        reading = read_pump(driver)
    store.patients.bind_pump(admin, other.identifier, reading.identity.serial, reading.identity.model,
                             date(2025, 9, 1), None)
    window._show_snapshot(reading, may_start_visit=False)  # as the reading after a change shows another pump
    wait(app, lambda: window.visit_controls.ready and window.visit_controls.strip.stopped, "the hard stop")
    window.banner.clear()  # the strip says it all
    window.show_tab(OVERVIEW_TAB)
    shoot(app, window, "15-wrong-patient")

    pump = started(["--listen", "tcp://127.0.0.1:0", "--state", str(tmp / "new-implant.json"), "--pairing-window",
                    "120"])
    code, _seconds = pump.read_pairing_code()
    assert pump.url is not None, "start() read it"
    window.connect_to(pump.url)
    wait(app, lambda: window.pairing_dialog is not None and not window.link.busy, "the pairing dialog")
    assert window.pairing_dialog is not None, "the wait was for it"
    window.pairing_dialog.code.setText(code)
    window.pairing_dialog.pair_button.click()
    wait(app, lambda: window.visit_controls.patient_dialog is not None and not window.link.busy
         and window.visit_controls.ready, "Which patient?")
    shoot(app, window, "18-new-visit")
    dialog = window.visit_controls.patient_dialog
    assert dialog is not None, "the wait was for it"
    dialog.resize(PAIRING_SIZE.width(), 600)
    wait(app, lambda: dialog.idle, "the first search's answer")
    save(app, dialog, "14-which-patient")
    dialog.search.setText("demo")
    wait(app, lambda: dialog.idle and dialog.replaces.isVisible(), "the demo patient's implanted pump")
    dialog.replaces.setChecked(True)
    save(app, dialog, "14-which-patient-replaces")
    dialog.this_patient.click()
    wait(app, lambda: window.visit_controls.patient_dialog is None, "the dialog to close")
    pump.stop()

    window.visit_controls.sign_out()
    wait(app, lambda: window.visit_controls.sign_in_dialog is not None, "the sign-in dialog")
    shoot(app, window, "13-signed-out")
    sign_in = window.visit_controls.sign_in_dialog
    assert sign_in is not None, "the wait was for it"
    sign_in.resize(PAIRING_SIZE.width(), 300)
    save(app, sign_in, "13-sign-in")


def paired(state: Path) -> str:
    """The URL of a new emulator this programmer is paired with (over the code it printed), in this run's key store."""
    pump = started(["--listen", "tcp://127.0.0.1:0", "--state", str(state), "--pairing-window", "120"])
    code, _seconds = pump.read_pairing_code()
    assert pump.url is not None, "start() read it"
    with open_driver(pump.url, pairing_code=code):
        pass
    return pump.url


def sign_in_as(app: QApplication, window: MainWindow, username: str) -> None:
    """Sign out and in again as ``username`` of the demo (a new visit: the same pump, matched again)."""
    window.visit_controls.sign_out()
    assert window.clinic.store is not None, "open"
    window.visit_controls.signed_in(window.clinic.store.users.authenticate(username, DEMO_PASSWORD))
    wait(app, lambda: window.visit_controls.ready and window.clinic.user is not None, f"{username}'s sign-in")
    if window.visit_controls.sign_in_dialog is not None:  # the lock opened it; signed in here, it is not needed
        window.visit_controls.sign_in_dialog.reject()
    confirm_patient(app, window)  # another person's visit: the patient confirmed again


def started(args: list[str]) -> EmulatorProcess:
    emulator = EmulatorProcess(args)
    emulator.start()
    atexit.register(emulator.stop)
    return emulator


def take_pairing(app: QApplication, window: MainWindow, tmp: Path) -> None:
    """A pump this programmer was never paired with: the dialog with the code typed, then a wrong code refused."""
    pump = started(["--listen", "tcp://127.0.0.1:0", "--state", str(tmp / "unpaired.json"), "--pairing-window", "120"])
    code, _seconds = pump.read_pairing_code()
    assert pump.url is not None, "start() read it"
    window.connect_to(pump.url)
    wait(app, lambda: window.pairing_dialog is not None and not window.link.busy, "the pairing dialog")
    dialog = window.pairing_dialog
    assert dialog is not None, "the wait was for it"
    dialog.resize(PAIRING_SIZE)
    dialog.code.setText(code)
    save(app, dialog, "10-pairing")
    dialog.code.setText(f"{(int(code) + 1) % 1_000_000:06d}")
    dialog.pair_button.click()
    wait(app, lambda: dialog.outcome.isVisible() and not window.link.busy, "the wrong code's refusal")
    save(app, dialog, "10-pairing-wrong-code")
    dialog.reject()
    wait(app, lambda: window.pairing_dialog is None, "the dialog to close")
    pump.stop()


def take_insecure_link(app: QApplication, window: MainWindow, tmp: Path) -> None:
    """The demo patient on a pump that speaks only protocol version 1: the red strip over the Overview."""
    pump = started(["--listen", "tcp://127.0.0.1:0", "--state", str(tmp / "insecure.json"), "--insecure"])
    assert pump.url is not None, "start() read it"
    set_up_demo_patient(pump.url, allow_insecure_link=True)
    window.connect_to(pump.url)
    wait(app, lambda: window.connected and not window.link.busy and window.visit_controls.ready, "the insecure pump")
    confirm_patient(app, window)  # another pump: a new visit, its patient confirmed again
    shoot(app, window, "11-insecure-link")
    window.disconnect_pump()
    wait(app, lambda: not window.link.busy, "the disconnection")
    pump.stop()


def take_low_alarm(app: QApplication, window: MainWindow) -> None:
    """The low-reservoir alarm's dialog with a new threshold typed and confirmed, then cancelled: nothing is sent,
    so the screens after it show the pump as it was."""
    overview = window.overview
    overview.set_low_alarm.click()
    dialog = overview.low_alarm_dialog
    assert dialog is not None, "the button opens it on a pump read"
    dialog.resize(DIALOG_SIZE)
    dialog.field.setText("3")
    dialog.confirm.setChecked(True)
    save(app, dialog, "2-overview-low-alarm")
    dialog.reject()
    wait(app, lambda: overview.low_alarm_dialog is None, "the dialog to close")


def take_refill(app: QApplication, window: MainWindow) -> None:
    """Every step of the refill wizard, as a clinician fills it in: a short withdrawal stopped, then one within
    tolerance, the pump's own drug, a volume that fits, and the result read back."""
    window.open_refill()
    wait(app, lambda: window.refill_wizard is not None and window.refill_wizard.steps is not None
         and not window.link.busy, "the refill wizard's reading")
    wizard = window.refill_wizard
    wizard.resize(WIZARD_SIZE)
    save(app, wizard, "9-refill-1-expect")
    wizard.next.click()
    wizard.withdrawn.setText("10")
    save(app, wizard, "9-refill-2-withdraw-stop")
    wizard.withdrawn.setText("13.6")
    save(app, wizard, "9-refill-2-withdraw")
    wizard.next.click()
    wizard.same_drug.click()
    wizard.lot.setText("BX7340")
    wizard.expiry.setText("2027-06-30")
    save(app, wizard, "9-refill-3-syringe")
    wizard.next.click()
    wizard.added.setText("19.5")
    wizard.clinician.setText(signer(window))
    save(app, wizard, "9-refill-4-inject")
    wizard.next.click()
    wait(app, lambda: wizard.outcome.isVisible() and not window.link.busy, "the refill")
    save(app, wizard, "9-refill-5-result")
    wizard.cancel.click()


def enter(app: QApplication, window: MainWindow, kind: str, fields: dict) -> None:
    """Choose ``kind`` on the Bolus page, type ``fields`` (widget name: text or choice) and sign."""
    page = window.bolus
    page.kind.setCurrentIndex(page.kind.findData(kind))
    for field, text in fields.items():
        widget = getattr(page, field)
        if hasattr(widget, "setText"):
            widget.setText(text)
        else:
            widget.setCurrentIndex(widget.findData(text))
    page.clinician.setText(signer(window))
    page.confirm.setChecked(True)
    app.processEvents()


def give(app: QApplication, window: MainWindow) -> None:
    page = window.bolus
    page.give.click()
    wait(app, lambda: not page.sending and not window.link.busy, "the pump's answer")


def take_bolus(app: QApplication, window: MainWindow) -> None:
    """The bridge a concentration change needs at the refill's syringe step (the demo pump's 60 cm catheter is full of
    the drug), then the Bolus page: a prime after a catheter revision reviewed, a therapeutic bolus reviewed and
    running, the demand dose set, and the patient's presses on the Overview."""
    window.open_refill()
    wait(app, lambda: window.refill_wizard is not None and window.refill_wizard.steps is not None
         and not window.link.busy, "the refill wizard's reading")
    wizard = window.refill_wizard
    wizard.resize(WIZARD_SIZE)
    wizard.next.click()
    wizard.withdrawn.setText(f"{window.snapshot.status.volume_ml:.1f}")
    wizard.next.click()
    wizard.drug.setCurrentText("baclofen")
    wizard.unit.setCurrentText("mcg")
    wizard.concentration.setText("1000")
    wizard.lot.setText("BX7341")
    wizard.expiry.setText("2027-06-30")
    save(app, wizard, "9-refill-3-bridge")
    wizard.cancel.click()
    wait(app, lambda: window.refill_wizard is None, "the wizard to close")

    window.show_tab(BOLUS_TAB)
    # The demo pump reports its line full of the drug: the prime's review warns of the 153 mcg it pushes, and the
    # reason given shows what reaches the patient.
    enter(app, window, "prime", {"catheter": "60", "prime_reason": "catheter_revision",
                                 "override": "catheter cut and replaced at revision, line opened"})
    shoot(app, window, "12-bolus-prime")
    enter(app, window, "therapeutic", {"dose": "50", "duration": "30"})
    shoot(app, window, "12-bolus-review", small=True)
    give(app, window)
    shoot(app, window, "12-bolus-running")
    window.bolus.stop.click()
    wait(app, lambda: window.bolus.watching is None and not window.link.busy, "the bolus to stop")
    window.bolus.demand_on.setChecked(True)
    enter(app, window, "demand", {"demand_dose": "25", "demand_duration": "10", "lockout": "120", "most": "4"})
    shoot(app, window, "12-bolus-demand")
    give(app, window)
    sign_in_as(app, window, DEMO_TESTER)  # the Emulator menu is a tester's
    for _ in range(2):
        window.press_button()
        wait(app, lambda: not window.link.busy, "the button press")
    window.show_tab(OVERVIEW_TAB)
    shoot(app, window, "2-overview-demand")
    sign_in_as(app, window, DEMO_USER)

if __name__ == "__main__":
    main()

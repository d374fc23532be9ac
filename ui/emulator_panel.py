"""Emulator > Control panel: a tester's hands on an emulated pump (its control channel, docs/emulator.md), beside the
programmer that talks to the pump over its wire.

Why a window of its own and not a page: it acts on the pump from outside the programmer's session (time, battery,
motor, the patient's button, the link's faults), so the tester keeps it open beside the main window and watches what
the programmer then reads. Why every call runs in a thread: a control call is a loopback round trip, mostly a
millisecond, but ``advance`` runs the engine over the hours asked (up to a second for years), and no step of the GUI
thread may wait on a socket. Calls go one at a time, in the order asked; the state is refreshed every second while
nothing else is asked. The channel's refusals are shown in its own words (they name the field, the value and the
limit: the fault text is checked by the emulator's own parser), never as a traceback.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QMessageBox, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from emulator.control_client import ControlClient, ControlError, ControlUnreachable, describe
from ui.background import Background
from ui.emulator import ControlEndpoint

REFRESH_MS = 1000
"""How often the state is asked for while the panel is idle: the clock of an emulator at speed moves visibly."""


class EmulatorPanel(QWidget):
    """The control panel of the emulator at ``endpoint``. ``state`` is the pump's last state read (None before the
    first answer); ``message`` says what the last action did, or why it was refused."""

    def __init__(self, endpoint: ControlEndpoint, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(f"Emulator control panel: {endpoint.pump_url}")
        self.endpoint = endpoint
        self.state: dict[str, Any] | None = None
        self._client: ControlClient | None = None
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._calls = Background(self)
        self._calls.done.connect(self._answered)
        self._calls.failed.connect(self._refused)
        self._asked: tuple[str, dict[str, Any]] | None = None
        """The call running (None: none), until its answer is shown: the next waits for that."""
        self._build()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(REFRESH_MS)
        self.refresh()

    # --- what the tester asks --------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Ask for the state, unless a call is already running or waiting (its answer carries the state too)."""
        if self.idle:
            self.ask("state")

    def ask(self, action: str, **arguments: Any) -> None:
        """Send ``action`` after the calls already asked."""
        self._queue.append((action, arguments))
        self._next()

    @property
    def idle(self) -> bool:
        """No call running, waiting, or answered but not yet shown (tests wait for it)."""
        return self._asked is None and not self._queue

    def _refresh_again(self) -> None:
        """Refresh, and every second again (after the emulator could not be reached, the timer stopped)."""
        self._timer.start(REFRESH_MS)
        self.refresh()

    def reset_factory(self) -> None:
        answer = QMessageBox.question(self, "Reset the emulated pump to factory?",
                                      "The pump loses its drug, program, reservoir contents and event log, as shipped "
                                      "(it keeps its serial, clock and pairings). The programmer must connect again.")
        if answer == QMessageBox.StandardButton.Yes:
            self.ask("reset-factory", confirm=True)

    def closeEvent(self, event) -> None:
        self._timer.stop()
        self._queue.clear()
        self._calls.wait()
        if self._client is not None:
            self._client.close()
        super().closeEvent(event)

    # --- the calls, one at a time off the GUI thread ----------------------------------------------------------------

    def _next(self) -> None:
        if self._asked is not None or not self._queue:
            return
        self._asked = action, arguments = self._queue.popleft()
        self._calls.run(lambda: self._call(action, arguments))

    def _call(self, action: str, arguments: dict[str, Any]) -> dict:
        if self._client is None:
            self._client = self.endpoint.client()
        return self._client.request(action, **arguments)

    def _answered(self, result: dict) -> None:
        assert self._asked is not None, "an answer follows a call"
        (action, arguments), self._asked = self._asked, None
        self.state = result["state"]
        self.state_text.setText(describe(result))
        if action != "state":
            self.message.setText(done_text(action, arguments, result))
        if action in ("save", "load", "reset-factory"):
            self._list_saved()
        self._next()

    def _refused(self, error: Exception) -> None:
        assert self._asked is not None, "a refusal follows a call"
        (action, _), self._asked = self._asked, None
        self.message.setText(refusal_text(action, error))
        self._queue.clear()  # what was asked after a refused call is not done blindly
        if isinstance(error, (ControlUnreachable, OSError)):
            self._timer.stop()  # an emulator that has gone is not asked every second; Refresh asks again
        self._next()

    # --- the window ------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.state_text = QLabel("Reading the emulator's state…")
        self.state_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        refresh = QPushButton("Refres&h")
        refresh.clicked.connect(self._refresh_again)
        glance = QGroupBox("The pump at a glance")
        glance_layout = QVBoxLayout(glance)
        glance_layout.addWidget(self.state_text)
        glance_layout.addWidget(refresh, alignment=Qt.AlignmentFlag.AlignLeft)

        form = QFormLayout()
        self.hours = number(0.1, 87_840, 24, " h", 1)
        form.addRow("Run forward (simulated hours):", self._row(self.hours, "&Run forward",
                                                                lambda: self.ask("advance", hours=self.hours.value())))
        self.speed = number(0.01, 1e7, 1, " s per real s", 2)
        form.addRow("Clock speed (simulated seconds):", self._row(self.speed, "Set &speed",
                                                                  lambda: self.ask("speed", speed=self.speed.value())))
        self.battery = number(0, 100, 100, " %", 1)
        form.addRow("Battery charge (%):", self._row(self.battery, "Set &battery",
                                                     lambda: self.ask("battery", percent=self.battery.value())))
        self.pairing_seconds = QSpinBox()
        self.pairing_seconds.setRange(1, 600)
        self.pairing_seconds.setValue(120)
        self.pairing_seconds.setSuffix(" s")
        form.addRow("Pairing window (real seconds):", self._row(
            self.pairing_seconds, "&Open pairing window",
            lambda: self.ask("open-pairing", seconds=self.pairing_seconds.value())))
        self.faults = QLineEdit()
        self.faults.setPlaceholderText("seed=7,drop=0.05,delay=0.1:2 (probabilities 0..1, delay in s)")
        self.clear_faults = QPushButton("C&lear faults")
        self.clear_faults.clicked.connect(lambda: self.ask("faults", spec=""))
        faults_row = self._row(self.faults, "Put faults in &force",
                               lambda: self.ask("faults", spec=self.faults.text().strip()), self.clear_faults)
        form.addRow("Link faults (--faults syntax):", faults_row)

        self.stall = QPushButton("S&tall the motor")
        self.stall.clicked.connect(lambda: self.ask("stall"))
        self.clear_stall = QPushButton("Free the &motor")
        self.clear_stall.clicked.connect(lambda: self.ask("clear-stall"))
        self.press = QPushButton("&Patient presses the demand button")
        self.press.clicked.connect(lambda: self.ask("press-button"))
        self.reset = QPushButton("Reset to factor&y…")
        self.reset.clicked.connect(self.reset_factory)
        pump_row = QHBoxLayout()
        for button in (self.stall, self.clear_stall, self.press, self.reset):
            pump_row.addWidget(button)

        self.state_name = QLineEdit()
        self.state_name.setPlaceholderText("name: letters, digits, . _ - (up to 64)")
        self.saved = QListWidget()
        self.saved.setMaximumHeight(90)
        self.load = QPushButton("Loa&d the chosen state")
        self.load.clicked.connect(self._load_chosen)
        saved_box = QGroupBox("Named pump states")
        saved_layout = QVBoxLayout(saved_box)
        saved_layout.addWidget(self._row(self.state_name, "Sa&ve the state as",
                                         lambda: self.ask("save", name=self.state_name.text().strip())))
        saved_layout.addWidget(self.saved)
        saved_layout.addWidget(self.load, alignment=Qt.AlignmentFlag.AlignLeft)
        self._list_saved()

        layout = QVBoxLayout(self)
        layout.addWidget(glance)
        layout.addLayout(form)
        layout.addLayout(pump_row)
        layout.addWidget(saved_box)
        layout.addWidget(self.message)

    def _row(self, field: QWidget, text: str, slot, *more: QWidget) -> QWidget:
        """``field`` with its button (and ``more`` after it) on one line."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(field, 1)
        button = QPushButton(text)
        button.clicked.connect(slot)
        for widget in (button, *more):
            layout.addWidget(widget)
        return row

    def _list_saved(self) -> None:
        self.saved.clear()
        self.saved.addItems(self.endpoint.saved_names())

    def _load_chosen(self) -> None:
        item = self.saved.currentItem()
        if item is None:
            self.message.setText("Choose a saved state in the list to load it.")
            return
        self.ask("load", name=item.text())


def number(low: float, high: float, value: float, suffix: str, decimals: int) -> QDoubleSpinBox:
    field = QDoubleSpinBox()
    field.setRange(low, high)
    field.setDecimals(decimals)
    field.setValue(value)
    field.setSuffix(suffix)
    return field


DONE = {"advance": "Ran forward {hours:g} h.", "speed": "Clock speed set to {speed:g} simulated s per real s.",
        "battery": "Battery set to {percent:g} %.", "stall": "Motor stalled.", "clear-stall": "Motor freed.",
        "open-pairing": "Pairing window opened for {seconds} s (the code is on the emulator's output).",
        "reset-factory": "Reset to factory: the programmer must connect again.",
        "save": "State saved as {name}.", "load": "State {name} loaded: the programmer must connect again."}
"""What an action did, in words (the state above shows the rest)."""


def done_text(action: str, arguments: dict[str, Any], result: dict) -> str:
    """The sentence for an action the emulator did."""
    if action == "faults":
        return f"Link faults in force: {arguments['spec']}." if arguments["spec"] else "Link faults cleared."
    if action == "press-button":
        press = result["press"]
        return f"Demand dose given ({press['bolus_id']}); the next is allowed from {press['next_allowed']}."
    return DONE[action].format(**arguments)


def refusal_text(action: str, error: Exception) -> str:
    """Why an action was not done, in the channel's words (they name the field, the value and the limit)."""
    if isinstance(error, ControlError):
        return f"Not done: {action}: {error.message}"
    if isinstance(error, ControlUnreachable):
        return f"Not done: {action}: {error}. Is the emulator still running?"
    if isinstance(error, OSError):
        return f"Not done: {action}: the control channel's token file cannot be read: {error.strerror or error}."
    return f"Not done: {action}: {error}"

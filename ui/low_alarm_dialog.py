"""The dialog that sets the pump's low-reservoir alarm threshold: the threshold now and what it means, the range
the pump takes, the new value typed in mL with what it would mean, a tick box confirming the change, and
explicit "Set the low-reservoir alarm" and "Cancel" buttons.

Like the clock's confirmation (``ui.clock_dialog``), it changes the pump only by its Set button (or Alt+S), and
only once the value can be sent (``LowAlarmChange.check``: in the model's range, not the threshold it holds)
and its tick box says the clinician checked it; editing the value clears the tick. No key does it by accident:
no button is the default, so Enter in the field only moves on to the tick box; Esc and Cancel close it and
nothing is sent. It is opened with ``open()``, window-modal and without a nested event loop, so the window keeps
painting and a test can answer it like a person would. The words are ``ui.view_models.low_alarm``'s.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from ui.view_models.low_alarm import LowAlarmChange, ThresholdCheck
from ui.widgets import SelectAllOnFocus, WrappedText, describe, heading, mark

TITLE = "Set the low-reservoir alarm"


class LowAlarmDialog(QDialog):
    """Accepted (``accepted``) only by the Set button, with ``value`` the threshold to send."""

    def __init__(self, change: LowAlarmChange, parent: QWidget | None = None):
        super().__init__(parent)
        self.change = change
        self.checked = ThresholdCheck(None, "")
        self.setWindowTitle(TITLE)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(change.title, wraps=True))
        self.current = WrappedText(change.current_text)
        self.range_note = WrappedText(change.range_text)
        layout.addWidget(self.current)
        layout.addWidget(self.range_note)
        form = QFormLayout()
        self.field = QLineEdit()
        describe(self.field, "New low-reservoir alarm threshold",
                 f"The volume left in the reservoir when the pump starts to alarm, in mL: {change.range_text}")
        label = QLabel("&New threshold (mL)")
        SelectAllOnFocus(self.field, label)
        form.addRow(label, self.field)
        layout.addLayout(form)
        self.verdict = WrappedText()
        layout.addWidget(self.verdict)
        self.confirm = QCheckBox()
        layout.addWidget(self.confirm)
        buttons = QHBoxLayout()
        self.set_button = QPushButton("&Set the low-reservoir alarm")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Close without sending anything (Esc).")
        for button in (self.set_button, self.cancel_button):
            button.setAutoDefault(False)  # no default button: Enter never sets the alarm, nor closes the dialog
        self.set_button.clicked.connect(self._set)
        self.cancel_button.clicked.connect(self.reject)
        buttons.addStretch(1)
        buttons.addWidget(self.set_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.field.textChanged.connect(self._evaluate)
        self.field.returnPressed.connect(self._go_to_confirm)
        self.confirm.toggled.connect(self._enable)
        self._evaluate()
        self.field.setFocus()

    @property
    def value(self) -> float | None:
        """The threshold to send: set only while it can be sent."""
        return self.checked.value

    def _evaluate(self) -> None:
        """Judge the typed value; any edit clears the confirmation, which was for the value before it."""
        self.checked = self.change.check(self.field.text())
        self.verdict.setText(self.checked.text)
        mark(self.verdict, self.checked.severity)
        self.field.setAccessibleDescription(f"{self.field.property('about')}\n{self.checked.text}")
        self.confirm.setChecked(False)
        self.confirm.setEnabled(self.value is not None)
        self.confirm.setText(self.change.confirmation(self.value).replace("I have checked", "I have &checked", 1))
        self._enable()

    def _enable(self) -> None:
        self.set_button.setEnabled(self.value is not None and self.confirm.isChecked())

    def _go_to_confirm(self) -> None:
        if self.value is not None:
            self.confirm.setFocus()

    def _set(self) -> None:
        if self.set_button.isEnabled():
            self.accept()

"""The confirmation before the pump's clock is set: the pump's time now and the new time, how flex steps
move, the next DST change of this computer's zone and what it will do (``programmer.clock_changes``), and explicit "Set the pump clock" and "Cancel" buttons with Cancel the default.

Setting the clock changes when the therapy runs, so it is never done by a single key press: Enter, Space
on the focused default button and Esc all cancel; only the Set button (or its Alt+S) sets. The dialog is
opened with ``open()``, window-modal and without a nested event loop, so the window keeps painting and a
test can answer it like a person would.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.view_models.clock_check import ClockChange
from ui.widgets import WrappedText, heading

TITLE = "Set the pump clock?"


class ClockDialog(QDialog):
    """Accepted (``accepted``) only by the Set button. ``ahead``: the next clock change's warning, if any."""

    def __init__(self, change: ClockChange, parent: QWidget | None = None, ahead: list[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Set the pump's clock to this computer's time?"))
        self.summary = self._paragraph(layout, f"Pump clock: {change.summary}")
        self.flex = [self._paragraph(layout, line) for line in change.flex]
        self.ahead = [self._paragraph(layout, f"Clock change ahead: {line}") for line in ahead or []]
        self.setAccessibleDescription(" ".join([self.summary.text(), *change.flex,
                                                *(label.text() for label in self.ahead)]))
        buttons = QHBoxLayout()
        self.set_button = QPushButton("&Set the pump clock")
        self.set_button.setAutoDefault(False)
        self.set_button.clicked.connect(self.accept)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setDefault(True)
        self.cancel_button.clicked.connect(self.reject)
        buttons.addStretch(1)
        buttons.addWidget(self.set_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.cancel_button.setFocus()

    def _paragraph(self, layout: QVBoxLayout, text: str) -> QLabel:
        label = WrappedText(text)
        layout.addWidget(label)
        return label

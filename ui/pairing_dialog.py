"""The pairing dialog: shown when a pump answers that it does not know this programmer (``NotPaired``).

It names the pump (model and serial, from its open IDENTIFY), says how to open the pump's pairing window and
asks for the 6-digit code the pump then shows. The code is judged as it is typed (``ui.view_models.pairing``):
Pair is offered only for six digits, so a slip never spends one of the pump's three attempts.

The dialog never talks to the pump. Pair emits ``pair_requested(code)``; the window sends the link a ``Pair``
request, which pairs and then reads the pump in the link's thread, and tells the dialog how it went:
``pairing_finished`` closes it (the connection goes on as if it had never stopped), ``pairing_failed`` shows
why and keeps it open for another code. While the pump is being paired both buttons are disabled: an
exchange that has begun is let finish (a few seconds at most), so the pump and this programmer never
disagree about whether they are paired. Cancel, before that, sends nothing and keeps nothing. It is
opened with ``open()``, window-modal without a nested event loop, so a test answers it as a person does.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from ui.view_models import pairing
from ui.widgets import ERROR, WrappedText, describe, heading, mark

ERROR_TEXT = f"color: {ERROR};"
"""A refusal and a wrong character are in the error colour; each is said in words too, never by colour alone."""


class PairingDialog(QDialog):
    """Asks for the pump's pairing code; ``pair_requested(code)`` for a code that can be sent."""

    pair_requested = Signal(str)

    def __init__(self, model: str, serial: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.serial = serial
        self.setWindowTitle(pairing.TITLE)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(f"Pair with {model} serial {serial}", wraps=True))
        self.intro = WrappedText(pairing.intro(model, serial))
        self.how = WrappedText(pairing.HOW_TO_OPEN)
        self.why = WrappedText(pairing.WHY)
        for text in (self.intro, self.how, self.why):
            layout.addWidget(text)

        form = QFormLayout()
        self.code = QLineEdit()
        self.code.setMaxLength(pairing.CODE_DIGITS + 2)  # room to show what is wrong with a pasted code
        self.code.setPlaceholderText("6 digits")
        digits = self.code.font()
        digits.setPointSizeF(digits.pointSizeF() * 1.5)
        digits.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 2.0)
        self.code.setFont(digits)  # read off the pump, digit by digit: large and spaced
        self.code.setMaximumWidth(QFontMetrics(digits).horizontalAdvance("0" * 12))
        describe(self.code, "Pairing code", f"The {pairing.CODE_DIGITS}-digit code the pump shows while its "
                 "pairing window is open.")
        label = QLabel("Pairing &code")
        label.setBuddy(self.code)
        form.addRow(label, self.code)
        layout.addLayout(form)
        self.hint = WrappedText()
        layout.addWidget(self.hint)
        self.outcome = WrappedText()
        self.outcome.setAccessibleName("Pairing result")
        self.outcome.hide()
        layout.addWidget(self.outcome)
        self.step = QLabel(pairing.PAIRING)
        self.step.hide()
        layout.addWidget(self.step)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: pairing is two exchanges, then the reading's steps
        self.progress.setAccessibleName("Pairing progress")
        self.progress.hide()
        layout.addWidget(self.progress)

        layout.addStretch(1)
        buttons = QHBoxLayout()
        self.pair_button = QPushButton("&Pair")
        self.pair_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Close without sending anything: the pump is not paired (Esc).")
        self.pair_button.clicked.connect(self._pair)
        self.cancel_button.clicked.connect(self.reject)
        buttons.addStretch(1)
        buttons.addWidget(self.pair_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.code.textChanged.connect(self._judge)
        self.code.returnPressed.connect(self._pair)
        self.pairing = False
        self._judge()
        self.code.setFocus()

    @property
    def entered(self) -> str | None:
        """The code as it would be sent, or None while it cannot be."""
        return pairing.code_entry(self.code.text()).code

    def set_progress(self, step: str) -> None:
        """The step the link is at while pairing and reading."""
        self.step.setText(f"{step[:1].upper()}{step[1:]}…")
        self.progress.setAccessibleDescription(self.step.text())

    def pairing_failed(self, text: str) -> None:
        """Pairing did not complete: say why, and take another code (the field is emptied and focused)."""
        self._set_pairing(False)
        self.outcome.setText(text)
        self.outcome.setStyleSheet(ERROR_TEXT)
        self.outcome.show()
        self.code.clear()
        self.code.setFocus()

    def pairing_finished(self) -> None:
        """Paired and read: the window shows the pump, so the dialog is done."""
        self._set_pairing(False)
        self.accept()

    def reject(self) -> None:
        """Esc and Cancel: only before the exchange has begun (then nothing was sent)."""
        if not self.pairing:
            super().reject()

    def _judge(self) -> None:
        entry = pairing.code_entry(self.code.text())
        self.hint.setText(entry.hint)
        self.hint.setStyleSheet(ERROR_TEXT if entry.wrong else "")
        mark(self.code, "error" if entry.wrong else "")
        self.code.setAccessibleDescription(f"{self.code.property('about')}\n{entry.hint}")
        self.pair_button.setEnabled(entry.code is not None and not self.pairing)

    def _pair(self) -> None:
        code = self.entered
        if code is None or self.pairing:
            return
        self._set_pairing(True)
        self.outcome.hide()
        self.pair_requested.emit(code)

    def _set_pairing(self, pairing_now: bool) -> None:
        self.pairing = pairing_now
        self.step.setText(pairing.PAIRING)
        self.step.setVisible(pairing_now)
        self.progress.setVisible(pairing_now)
        self.code.setEnabled(not pairing_now)
        self.cancel_button.setEnabled(not pairing_now)
        self._judge()

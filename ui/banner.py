"""The banner at the top of the window: the one sentence the clinician must not miss (a write's result,
a lost link), with its kind in words ("Verified", "NOT WRITTEN", "UNCERTAIN") and an action when one
helps (Reconnect). It stays until something newer replaces it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle

from ui.view_models.palette import BANNER
from ui.widgets import WrappedText, heading

ICONS = {
    "ok": QStyle.StandardPixmap.SP_DialogApplyButton,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
}
"""An icon beside the kind's colour, so the kind is never told by colour alone (colours: ``ui.view_models.palette``)."""
INSECURE_BACKGROUND = BANNER["error"][1]


class Banner(QFrame):
    action_clicked = Signal(str)

    def __init__(self):
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        self.icon = QLabel()
        self.title = heading("")
        self.text = WrappedText()
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.button = QPushButton()
        self.button.clicked.connect(lambda: self.action_clicked.emit(self.button.property("action")))
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.title, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)
        self.setAccessibleName("Status message")
        self.hide()

    def show_message(self, kind: str, title: str, text: str, action: str | None = None,
                     action_text: str = "") -> None:
        (background, foreground), icon = BANNER[kind], ICONS[kind]
        self.setStyleSheet(f"Banner {{ background: {background}; border: 2px solid {foreground}; }}"
                           f"QLabel {{ color: {foreground}; }}")
        size = self.title.fontMetrics().height() * 2
        self.icon.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        self.title.setText(title)
        self.text.setText(text)
        self.setAccessibleDescription(f"{title} {text}")
        self.button.setVisible(action is not None)
        self.button.setProperty("action", action)
        self.button.setText(action_text)
        self.show()

    @property
    def action(self) -> str | None:
        """The action the banner offers now (None when it offers none or is hidden), so the window can
        tell whether the message showing is, say, the clock warning that a later reading made untrue."""
        return None if self.isHidden() else self.button.property("action")

    def clear(self) -> None:
        self.hide()
        self.title.setText("")
        self.text.setText("")


INSECURE_TEXT = "INSECURE LINK: frames are neither authenticated nor encrypted; changes need --allow-insecure-link"
INSECURE_ALLOWED_TEXT = ("INSECURE LINK: frames are neither authenticated nor encrypted; changes are allowed "
                         "(--allow-insecure-link) to a role that may use such a link: for protocol debugging only, "
                         "never with a patient")
INSECURE_STYLE = f"QLabel {{ background: {INSECURE_BACKGROUND}; color: white; font-weight: bold; padding: 4px 8px; }}"
"""White on the error red (contrast about 8:1): the same red as an error, never used for anything milder."""


class InsecureLinkStrip(QLabel):
    """A red strip above the banner while the link is open to a pump that speaks protocol version 1.

    Why apart from the banner: the banner says the latest thing that happened and is replaced by the next;
    an insecure link is a standing condition, and whatever the banner says meanwhile must not hide it. It
    says whether changes are refused (the default) or were allowed by ``--allow-insecure-link``."""

    def __init__(self, changes_allowed: bool):
        super().__init__(INSECURE_ALLOWED_TEXT if changes_allowed else INSECURE_TEXT)
        self.setWordWrap(True)
        self.setStyleSheet(INSECURE_STYLE)
        self.setAccessibleName("Insecure link")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

"""Small widgets every screen uses: headings that scale with the system font, problem labels that say
the reason in words (with an icon, never colour alone), and read-only "label: value" grids."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractSpinBox, QFormLayout, QLabel, QLineEdit, QStyle, QWidget

from ui.draft import Problem

SEVERITY_PREFIX = {"error": "Not allowed: ", "warning": "Warning (acknowledge at review): "}


def heading(text: str, scale: float = 1.25) -> QLabel:
    """A bold heading sized relative to the system font (no fixed pixel sizes anywhere)."""
    label = QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    label.setAccessibleName(text)
    return label


def problem_icon(widget: QWidget, severity: str):
    pixmap = QStyle.SP_MessageBoxCritical if severity == "error" else QStyle.SP_MessageBoxWarning
    return widget.style().standardIcon(pixmap)


def problems_text(problems: list[Problem]) -> str:
    return "\n".join(SEVERITY_PREFIX[p.severity] + p.text for p in problems)


class ProblemLabel(QLabel):
    """The reason an entry is not accepted, shown under it; hidden when there is none.

    It also becomes the accessible description of the field it belongs to, so a screen reader says why.
    """

    def __init__(self, field: QWidget | None = None):
        super().__init__()
        self.field = field
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.hide()

    def show_problems(self, problems: list[Problem]) -> None:
        text = problems_text(problems)
        self.setText(text)
        self.setVisible(bool(text))
        worst = "error" if any(p.severity == "error" for p in problems) else "warning"
        self.setStyleSheet("" if not text else ("color: #a00000;" if worst == "error" else "color: #8a5a00;"))
        if self.field is not None:
            self.field.setAccessibleDescription(text)
            self.field.setToolTip(text)
        if isinstance(self.field, (QLineEdit, QAbstractSpinBox)):
            self.field.setStyleSheet("" if not text else "border: 2px solid #a00000;" if worst == "error"
                                     else "border: 2px solid #c08000;")


class FactGrid(QFormLayout):
    """Rows of 'label: value' whose values can be replaced; values are selectable text."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, QLabel] = {}
        self.setFieldGrowthPolicy(QFormLayout.ExpandingFieldsGrow)

    def row(self, key: str, label: str) -> QLabel:
        value = QLabel()  # not word-wrapped: a wrapped label in a form can lose its second line
        value.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
        value.setAccessibleName(label)
        self.addRow(label + ":", value)
        self.values[key] = value
        return value

    def set(self, key: str, text: str) -> None:
        self.values[key].setText(text)
        self.values[key].setAccessibleDescription(text)

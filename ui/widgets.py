"""Small widgets every screen uses: headings that scale with the system font, problem labels that say
the reason in words (with an icon, never colour alone) in a place kept for them, number fields that select
their whole text on arriving, read-only "label: value" grids, columns that scroll, splitters that keep their
ratio, and the application's one style sheet: the focus ring and the validation marks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt
from PySide6.QtGui import QFocusEvent, QFont, QFontMetricsF, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QApplication, QFormLayout, QFrame, QLabel,
                               QLineEdit, QScrollArea, QSizePolicy, QSplitter, QStyle, QStyledItemDelegate, QWidget)

from ui.view_models.format import WORD_JOINER, cut_at_word, units_whole
from ui.view_models.palette import BANNER

if TYPE_CHECKING:
    from ui.view_models.draft import Problem

SEVERITY_PREFIX = {"error": "Not allowed: ", "warning": "Warning (acknowledge at review): "}

UNBOUNDED_PX = 100_000
"""Room no text on screen needs: measured in it, a text keeps to one line per newline."""
FOCUS = "#0047ab"
"""The focus ring: a strong blue, far in hue from the red and amber of the validation marks, at least 4.5:1
against every background it is drawn on (tests/ui/test_flex_keys.py checks with ``ui.view_models.palette``)."""
ERROR_TINT, ERROR = BANNER["error"]
WARNING_TINT, WARNING = BANNER["warning"]
"""A field with a problem: its border (and the reason's text) in these colours, its inside tinted, as the
banner says errors and warnings, so one colour means one thing everywhere."""
FIELD_BORDER = "#6e6e6e"
FIELD_BACKGROUND = "#ffffff"
TEXT = "#000000"
SELECTION = "#cfe2ff"
"""The selected row of a table: pale, so its black text keeps its contrast (Qt's default highlight, #308cc6
behind white text, is about 3.6:1)."""
DISABLED_TEXT = "#5c5c5c"
"""Greyed text that can still be read (Qt's default #bebebe on #efefef is about 1.6:1): the Review button
says what it would do even while it cannot."""
WINDOW = "#efefef"
"""The window background the colours are checked against (Qt's Fusion palette, which the application uses)."""

QT_IMAGES = ":/qt-project.org/styles/commonstyle/images/"
"""Qt's own arrow images: a spin box whose border a style sheet sets must be given its arrows too. In a table
cell there is no room for them (and Up and Down move between rows there): they are given no width, which,
unlike ``QAbstractSpinBox.NoButtons``, leaves a styled spin box its text."""
FIELDS = "QLineEdit, QAbstractSpinBox, QComboBox"
VIEWS = "QTableView, QListView, QTreeView"
"""Not QAbstractItemView: a table's header is one too, and a border and padding would cut its text."""
STYLE_SHEET = f"""
{FIELDS} {{ border: 1px solid {FIELD_BORDER}; border-radius: 2px; padding: 2px;
           background: {FIELD_BACKGROUND}; color: {TEXT}; }}
QLineEdit[problem="error"], QAbstractSpinBox[problem="error"], QComboBox[problem="error"] {{
    border: 2px solid {ERROR}; padding: 1px; background: {ERROR_TINT}; }}
QLineEdit[problem="warning"], QAbstractSpinBox[problem="warning"], QComboBox[problem="warning"] {{
    border: 2px solid {WARNING}; padding: 1px; background: {WARNING_TINT}; }}
{VIEWS} {{ border: 1px solid {FIELD_BORDER}; padding: 2px; selection-background-color: {SELECTION};
         selection-color: {TEXT}; }}
QTableView[problem="error"] {{ border: 2px solid {ERROR}; padding: 1px; }}
QTableView[problem="warning"] {{ border: 2px solid {WARNING}; padding: 1px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ subcontrol-origin: padding; width: 16px;
    border-left: 1px solid {FIELD_BORDER}; background: #f4f4f4; }}
QAbstractSpinBox::up-button {{ subcontrol-position: top right; }}
QAbstractSpinBox::down-button {{ subcontrol-position: bottom right; }}
QAbstractSpinBox::up-arrow {{ image: url({QT_IMAGES}arrow-up-16.png); width: 9px; height: 9px; }}
QAbstractSpinBox::down-arrow {{ image: url({QT_IMAGES}arrow-down-16.png); width: 9px; height: 9px; }}
QTableView QAbstractSpinBox::up-button, QTableView QAbstractSpinBox::down-button {{ width: 0px; border: none; }}
QTableView QAbstractSpinBox::up-arrow, QTableView QAbstractSpinBox::down-arrow {{ image: none; width: 0px; }}
QPushButton {{ border: 1px solid {FIELD_BORDER}; border-radius: 3px; padding: 4px 12px; background: #f8f8f8;
               color: {TEXT}; }}
QPushButton:pressed {{ background: #dcdcdc; }}
QPushButton:disabled {{ border-style: dashed; background: {WINDOW}; }}
QCheckBox {{ border: 3px solid transparent; padding: 1px; }}
QWidget:disabled {{ color: {DISABLED_TEXT}; }}
QLineEdit:focus, QAbstractSpinBox:focus, QComboBox:focus, QTableView:focus, QListView:focus, QTreeView:focus,
QPushButton:focus {{
    border: 3px solid {FOCUS}; padding: 0px; }}
QPushButton:focus {{ padding: 2px 10px; }}
QCheckBox:focus {{ border-color: {FOCUS}; }}
"""
"""The application's style sheet (``QApplication.setStyleSheet``), one place for how focus and problems look.

Focus is a 3 px ring in ``FOCUS``; a problem is a 2 px red or amber border with a tinted inside (and an icon
and the reason in words, never colour alone). A field that is both shows both: the ring replaces the border,
the tint and the icon stay. Each state keeps border plus padding at 3 px, so gaining focus or a problem never
moves the text or resizes the field. The focus rules come last so they win over the problem ones."""


class WrappedText(QLabel):
    """A label that wraps at spaces but never inside a unit: it shows its text through ``units_whole`` (a
    line may otherwise end at the slash of "mL/day"). ``text()`` gives the text as it was set, so callers and
    tests read it without the invisible joiners."""

    def __init__(self, text: str = ""):
        super().__init__()
        self.setWordWrap(True)
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(units_whole(text))

    def text(self) -> str:
        return super().text().replace(WORD_JOINER, "")


class UnitsWholeDelegate(QStyledItemDelegate):
    """Table cells that wrap at spaces but never inside a unit (``units_whole``); the model's data stay as
    they are (an export or a test reads them without the joiners)."""

    def displayText(self, value, locale) -> str:
        return units_whole(super().displayText(value, locale))


class WordCutDelegate(QStyledItemDelegate):
    """Cells of one line that show a text too long for them cut at a whole word, with an ellipsis
    (``cut_at_word``): never inside a word or between a figure and its unit, where Qt's own eliding cuts
    anywhere ("added 14 m…"). The model's data stay whole (a screen reader, a tooltip, an export reads
    them so); the cuts are made only for the cells painted, and kept (up to ``CUTS_KEPT``) until the
    column's width or the font changes."""

    CUTS_KEPT = 20_000

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self._cuts: dict[str, str] = {}
        self._cut_for: tuple[int, QFont] | None = None  # the room and the font the cuts were made for

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        style = option.widget.style() if option.widget is not None else QApplication.style()
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, option, option.widget) + 1
        room = option.rect.width() - 2 * margin  # where the style draws the text (as QCommonStyle does)
        if self._cut_for != (room, option.font) or len(self._cuts) >= self.CUTS_KEPT:
            self._cuts, self._cut_for = {}, (room, QFont(option.font))
        text = option.text
        cut = self._cuts.get(text)
        if cut is None:
            metrics = QFontMetricsF(option.font)
            cut = self._cuts[text] = cut_at_word(text, lambda shown: metrics.horizontalAdvance(shown) <= room)
        option.text = cut


class WrappingLabel(WrappedText):
    """Text on one line where there is the room, wrapped where there is not. A plain QLabel that wraps asks
    for about twenty characters' width, and a form or a row of widgets gives it no more, so a short sentence
    broke into two lines even in a wide window."""

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        width = self.fontMetrics().boundingRect(QRect(0, 0, UNBOUNDED_PX, UNBOUNDED_PX), 0, self.text()).width()
        width += margins.left() + margins.right() + 2 * self.margin()
        return QSize(width, self.heightForWidth(width))


def second_shortcut(button: QAbstractButton, keys: str) -> None:
    """Give ``button`` a shortcut besides the letter its text marks. ``setShortcut`` would replace that
    letter, leaving it underlined but dead (Alt+R once did nothing on "&Review change"). The shortcut acts
    only while the button is on screen and enabled, as a click would."""
    shortcut = QShortcut(QKeySequence(keys), button)
    shortcut.activated.connect(lambda: button.animateClick() if button.isVisible() and button.isEnabled() else None)


def problem_line(name: str) -> WrappedText:
    """A dialog's line for what went wrong, in the error colour, named ``name`` for screen readers: empty until a
    problem is said in it, in words (never by colour alone)."""
    line = WrappedText()
    line.setStyleSheet(f"color: {ERROR};")
    line.setAccessibleName(name)
    return line


def heading(text: str, scale: float = 1.25, wraps: bool = False) -> QLabel:
    """A bold heading sized relative to the system font (no fixed pixel sizes anywhere); one that ``wraps``
    does so as ``WrappedText``."""
    label = WrappedText(text) if wraps else QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    label.setAccessibleName(text)
    return label


def problem_icon(widget: QWidget, severity: str):
    pixmap = (QStyle.StandardPixmap.SP_MessageBoxCritical if severity == "error"
              else QStyle.StandardPixmap.SP_MessageBoxWarning)
    return widget.style().standardIcon(pixmap)


def problems_text(problems: list[Problem]) -> str:
    return "\n".join(SEVERITY_PREFIX[p.severity] + p.text for p in problems)


def worst(problems: list[Problem]) -> str:
    return "error" if any(p.severity == "error" for p in problems) else "warning"


def describe(widget: QWidget, name: str, description: str) -> None:
    """What a screen reader says for a control: its name, and what it is for. The description stays when
    problems are added to it (``mark_field``)."""
    widget.setAccessibleName(name)
    widget.setProperty("about", description)
    widget.setAccessibleDescription(description)


def mark_field(field: QWidget, problems: list[Problem]) -> None:
    """Mark an entry with its problems: the style sheet's border and tint, the reasons as its tooltip, and
    after what the field is for (``describe``) in its accessible description, so a screen reader says why."""
    text = problems_text(problems)
    if field.toolTip() != text or field.property("problem") is None:
        field.setAccessibleDescription("\n".join(part for part in (field.property("about"), text) if part))
        field.setToolTip(text)
        mark(field, worst(problems) if problems else "")


def mark(widget: QWidget, severity: str) -> None:
    """Set the ``problem`` property the style sheet draws ("error", "warning" or "" for none)."""
    if widget.property("problem") != severity:
        widget.setProperty("problem", severity)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class VerticalScroll(QScrollArea):
    """Content that scrolls up and down when there is not the height for it, and never sideways: the area is
    never narrower than its content's minimum, with the scroll bar's room kept so that the bar appearing
    squeezes nothing. As a page's column (the editor; the review's figures and signature) a splitter beside
    it cannot push figures out of sight, and on a short screen the clinician reads on in one movement (Tab
    scrolls to each field). The area is no tab stop: it has nothing to act on and shows no focus."""

    def __init__(self, content: QWidget):
        super().__init__()
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def minimumSizeHint(self) -> QSize:
        content = self.widget()
        assert content is not None, "set in __init__"
        width = content.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        return QSize(width, super().minimumSizeHint().height())


def keep_ratio(splitter: QSplitter, ratio: tuple[int, int]) -> None:
    """Divide a splitter of two widgets by ``ratio`` (neither below its minimum) now and at every resize, until
    the clinician drags it; from then on their division is kept.

    Why at every resize: a splitter divides by its widgets' size history, not by their stretch factors (the
    editor, alone in it before the plots came, kept nearly all of it), and a page not yet shown has no real
    size to divide; it gets one later, in one or more resizes."""
    _KeptRatio(splitter, ratio)


class _KeptRatio(QObject):
    def __init__(self, splitter: QSplitter, ratio: tuple[int, int]):
        super().__init__(splitter)
        self._ratio = ratio
        splitter.installEventFilter(self)
        splitter.splitterMoved.connect(self._dragged)  # only a drag moves it: setSizes does not
        self._divide(splitter)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Resize):
            assert isinstance(watched, QSplitter), "installed on its splitter only"
            self._divide(watched)  # before the splitter's own handling, which then lays out these sizes
        return False

    def _divide(self, splitter: QSplitter) -> None:
        length = splitter.width() if splitter.orientation() == Qt.Orientation.Horizontal else splitter.height()
        total = length - splitter.handleWidth()
        first = round(total * self._ratio[0] / sum(self._ratio))
        splitter.setSizes([first, total - first])  # in pixels: QSplitter does not scale a bare ratio

    def _dragged(self) -> None:
        splitter = self.parent()
        assert isinstance(splitter, QSplitter), "made with its splitter as parent"
        splitter.removeEventFilter(self)
        splitter.splitterMoved.disconnect(self._dragged)
        self.deleteLater()


class ReservedText(VerticalScroll):
    """Text in a place of fixed height, kept whether there is text or not: text that appears, grows or goes
    never moves what is around it (an entry that jumps under the eye or the pointer as a warning comes and
    goes invites a slip). A text longer than the place scrolls inside it."""

    def __init__(self, lines: int):
        label = WrappedText()
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        super().__init__(label)
        self.label = label
        self.lines = lines
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self.label.text()

    def setText(self, text: str) -> None:
        self.label.setText(text)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self._height())

    def _height(self) -> int:
        margins = self.label.contentsMargins()
        return self.lines * self.label.fontMetrics().lineSpacing() + margins.top() + margins.bottom()


class ProblemLabel(ReservedText):
    """The reason an entry is not accepted, shown under it in a place kept for it; empty when there is none.

    The field is marked too (``mark_field``) and, in a line edit, shows an icon inside it, which stays while
    the field has focus and the focus ring replaces the problem's border.
    """

    def __init__(self, field: QWidget | None = None, lines: int = 2):
        super().__init__(lines)
        self.field = field
        self._shown: str | None = None
        self._icon = (field.addAction(QIcon(), QLineEdit.ActionPosition.TrailingPosition)
                      if isinstance(field, QLineEdit) else None)
        if self._icon is not None:
            self._icon.setVisible(False)

    def show_problems(self, problems: list[Problem]) -> None:
        text = problems_text(problems)
        if text == self._shown:
            return  # unchanged (the text names each severity): most keystrokes in a cell change nothing here
        self._shown = text
        self.setText(text)
        self.label.setStyleSheet(f"color: {ERROR if worst(problems) == 'error' else WARNING};" if text else "")
        if self.field is not None:
            mark_field(self.field, problems)
        if self._icon is not None:
            assert self.field is not None, "an icon is only added to a line edit field"
            self._icon.setIcon(problem_icon(self.field, worst(problems)) if text else QIcon())
            self._icon.setVisible(bool(text))


class SelectAllOnFocus(QObject):
    """Selects a number field's whole text whenever it gains focus, so that digits typed replace the old
    dose rather than join it ("187.5", then "200" typed, must never become 187.52).

    By Tab, by a click (only the click that gives focus: a second one places the cursor, as anywhere else),
    when a screen puts focus there, and by the mnemonic of ``label`` (its buddy), also when the field has
    focus already, which Qt's buddy does not report to the field. Not when focus comes back from a menu or
    a popup: that is not arriving at the field, and a selection made before it is kept.
    """

    def __init__(self, field: QLineEdit | QAbstractSpinBox, label: QLabel | None = None):
        super().__init__(field)
        self.field = field
        self.text = field.lineEdit() if isinstance(field, QAbstractSpinBox) else field  # where clicks land
        self._click_gives_focus = False
        self._in_that_click = False
        field.installEventFilter(self)
        if self.text is not field:
            self.text.installEventFilter(self)
        if label is not None:
            label.setBuddy(field)
            label.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Shortcut and watched not in (self.field, self.text):
            self.field.selectAll()  # the label's mnemonic; the label then gives the field focus, if it has none
        elif kind == QEvent.Type.FocusIn and watched is self.field:
            assert isinstance(event, QFocusEvent), "Qt delivers a FocusIn as a QFocusEvent"
            self._arrived(event.reason())
        elif kind == QEvent.Type.FocusOut and watched is self.field:
            self._click_gives_focus = self._in_that_click = False
        elif kind == QEvent.Type.MouseButtonPress:
            return self._pressed(watched)
        elif kind in (QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease) and self._in_that_click:
            self._in_that_click = kind != QEvent.Type.MouseButtonRelease
            return True  # that click selected everything: no drag may shrink the selection
        return False

    def _arrived(self, reason: Qt.FocusReason) -> None:
        if reason == Qt.FocusReason.MouseFocusReason:
            self._click_gives_focus = True  # its press comes next: it selects instead of placing the cursor
        elif reason not in (Qt.FocusReason.PopupFocusReason, Qt.FocusReason.MenuBarFocusReason):
            self.field.selectAll()

    def _pressed(self, watched: QObject) -> bool:
        giving_focus, self._click_gives_focus = self._click_gives_focus, False
        if giving_focus and watched is self.text:
            self.field.selectAll()
            self._in_that_click = True
            return True
        return False


class FactGrid(QFormLayout):
    """Rows of 'label: value' whose values can be replaced; values are selectable text."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, QLabel] = {}
        self.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        # beside the first line of a value that wraps
        self.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def row(self, key: str, label: str) -> QLabel:
        value = WrappingLabel()  # a long value (an alarm, a date) wraps rather than widen the window
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                      | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        value.setAccessibleName(label)
        self.addRow(label + ":", value)
        self.values[key] = value
        return value

    def set(self, key: str, text: str) -> None:
        self.values[key].setText(text)
        self.values[key].setAccessibleDescription(text)

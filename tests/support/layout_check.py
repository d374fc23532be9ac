"""Text a person cannot read in full, found on a laid-out window: the one check behind every layout test.

Why one walk over every visible widget rather than a test per screen: a clipped label is found wherever
it is, also on a page added later, in a state nobody thought to test by name, or after a wording change.
Each kind of widget is measured the way Qt draws it: labels and table cells by ``QFontMetrics.boundingRect``
in the room they have (wrapped when they wrap), buttons and combo boxes in the part of them their style
gives to the text, header sections against Qt's own size hint, a plot's titles and labels against the plot.
Wrapping may only break lines at spaces: "2000 mcg/" over "day" is a figure cut in two even though every
line fits (``UNIT_SPACE`` holds a figure to its unit; the check holds each word together). A table cell that
does not wrap may show less than its text only as a delegate cuts it: at a word, with an ellipsis, the whole
text in the cell's tooltip (``cut_problems``). A widget must lie
inside its parent, which clips it, unless the parent is a scroll area's viewport that can scroll to it; it
must not lie over a sibling; a list or table that scrolls must show a few rows whole.

``unreadable(window)`` returns one line per problem, "page/objectName-or-class: text (needed WxH, got
WxH)", so that a failing test names what to fix; an empty list means everything can be read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QTextDocument, QTextLayout, QTextOption
from PySide6.QtGui import Qt as GuiQt  # mightBeRichText lives in QtGui's Qt namespace
from PySide6.QtWidgets import (QAbstractButton, QAbstractScrollArea, QAbstractSpinBox, QCheckBox, QComboBox,
                               QGraphicsItem, QGraphicsTextItem, QGraphicsView, QGroupBox, QHeaderView, QLabel,
                               QLineEdit, QListView, QPushButton, QRadioButton, QStyle, QStyleOptionButton,
                               QStyledItemDelegate, QStyleOptionComboBox, QStyleOptionGroupBox, QStyleOptionViewItem,
                               QTabBar, QTableView, QTabWidget, QTreeView, QWidget)

FEW_CHARACTERS = "00:00"
"""The least a text field must show: a time, or a dose such as 187.5, whole."""
VISIBLE_ROWS = 3
"""A list or table that scrolls shows at least this many rows whole (all of them, when it has fewer): less,
and the clinician reads one row at a time through a slit."""
QT_INTERNAL = "qt_"
"""Qt names the parts it builds inside its own widgets (a scroll area's viewport and scroll bars, a tab
widget's bar and pages) with this prefix: Qt places them, over each other by design."""
UNBOUNDED = 100_000
"""Room no text on screen needs (pixels): measured in it, a text keeps to one line per newline."""
WORDS = re.compile(r"[^ \t\n\u2028]+")
"""What wrapping must keep whole: anything between ordinary spaces (a no-break space joins)."""
ELLIPSIS = "\u2026"
"""What must end a cell's text that is shown cut."""
CUT_PUNCTUATION = ",;:"
"""What a cut may leave out before its ellipsis."""
WORD_JOINER = "\u2060"
"""Invisible, added by a delegate that keeps units whole on wrapping: the text is still whole."""
LINE_SEPARATOR = "\u2028"
"""What Qt makes of a newline in a cell's text (``QStyledItemDelegate.displayText``)."""
BUTTON_CONTENTS = {QPushButton: QStyle.SE_PushButtonContents, QCheckBox: QStyle.SE_CheckBoxContents,
                   QRadioButton: QStyle.SE_RadioButtonContents}
"""Where each kind of button draws its text (and icon), as its style says."""


def unreadable(window: QWidget, size: QSize | None = None) -> list[str]:
    """Every problem on the visible widgets of ``window``, one line each (see the module's docstring). With
    ``size``, also the window's own: a window whose layout needs more than the size asked for grows past it
    (past the screen's edge, on a screen of that size)."""
    problems = [] if size is None else [f"{where(window)}: {problem}"
                                        for problem in too_small(window.windowTitle(), window.size(), size)]
    return problems + [f"{where(widget)}: {problem}" for widget in visible_widgets(window)
                       for problem in problems_of(widget)]


def visible_widgets(window: QWidget) -> Iterator[QWidget]:
    return (widget for widget in window.findChildren(QWidget) if widget.isVisible() and not widget.isWindow())


def problems_of(widget: QWidget) -> list[str]:
    problems = placement_problems(widget)
    for kind, check in CHECKS:
        if isinstance(widget, kind):
            problems += check(widget)
    return problems


# --- where a problem is, and how it is said --------------------------------------------------------------

def where(widget: QWidget) -> str:
    """'page/objectName-or-class': the tab the widget is on ("window" outside the tabs), then the widget."""
    return f"{page_of(widget)}/{widget.objectName() or type(widget).__name__}"


def page_of(widget: QWidget) -> str:
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        tabs = parent.parentWidget()
        if isinstance(tabs, QTabWidget) and tabs.indexOf(child) >= 0:
            return tabs.tabText(tabs.indexOf(child)).replace("&", "").lstrip("0123456789 ")
        child, parent = parent, tabs
    return "window"


def text_of(widget: QWidget) -> str:
    if isinstance(widget, QLineEdit):
        return widget.text() or widget.placeholderText()
    if isinstance(widget, (QLabel, QAbstractButton)):
        return widget.text()
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, QGroupBox):
        return widget.title()
    return widget.accessibleName()


def too_small(text: str, needed: QSize, got: QSize, what: str = "") -> list[str]:
    """The problem, in the report's words, when ``needed`` does not fit in ``got``."""
    if needed.width() <= got.width() and needed.height() <= got.height():
        return []
    return [f"{text!r}{what} (needed {needed.width()}x{needed.height()}, got {got.width()}x{got.height()})"]


def wrapped_size(font: QFont, text: str, width: int, flags: int = 0) -> QSize:
    """The size ``text`` takes wrapped at ``width``; wider, when wrapping at ``width`` cuts a word, by as
    much as its line would need to hold the word whole."""
    size = QFontMetrics(font).boundingRect(QRect(0, 0, width, UNBOUNDED), flags | int(Qt.TextWordWrap), text).size()
    return size.expandedTo(QSize(max(cut_words(font, text, width).values(), default=0), 0))


def cut_words(font: QFont, text: str, width: int) -> dict[str, int]:
    """The words (runs between ordinary spaces) that wrapping ``text`` at ``width`` breaks across lines (after
    the "/" of "mcg/day", or inside a word longer than the line), each with the width its line would need to
    hold it whole: a word cut in two is a problem even though each piece fits."""
    metrics = QFontMetrics(font)
    cut = {}
    for paragraph in re.split("[\n\u2028]", text):  # a line separator (a table cell's lines) ends a line too
        layout = QTextLayout(paragraph, font)
        option = QTextOption()
        option.setWrapMode(QTextOption.WordWrap)  # as QFontMetrics and QLabel wrap: at Unicode break chances
        layout.setTextOption(option)
        layout.beginLayout()
        line = layout.createLine()
        while line.isValid():
            line.setLineWidth(width)
            start, end = line.textStart(), line.textStart() + line.textLength()
            for word in WORDS.finditer(paragraph):
                if word.start() < end < word.end():
                    cut[word.group()] = metrics.horizontalAdvance(paragraph[min(start, word.start()):word.end()])
            line = layout.createLine()
        layout.endLayout()
    return cut


def line_size(metrics: QFontMetrics, text: str, flags: int = 0) -> QSize:
    """The size ``text`` takes unwrapped (one line per newline)."""
    return metrics.boundingRect(QRect(0, 0, UNBOUNDED, UNBOUNDED), flags, text).size()


# --- text in each kind of widget -------------------------------------------------------------------------

def label_problems(label: QLabel) -> list[str]:
    text = QLabel.text(label)  # as shown: ui.widgets.WrappedText's own text() leaves out its word joiners
    if not text:
        return []  # an icon
    if label.textFormat() == Qt.RichText or (label.textFormat() == Qt.AutoText and GuiQt.mightBeRichText(text)):
        document = QTextDocument()
        document.setHtml(text)
        text = document.toPlainText()
    margin = label.margin()
    room = label.contentsRect().adjusted(margin, margin, -margin, -margin)
    flags = int(Qt.TextShowMnemonic) if label.buddy() else 0
    metrics = label.fontMetrics()
    needed = (wrapped_size(label.font(), text, room.width(), flags) if label.wordWrap()
              else line_size(metrics, text, flags))
    return too_small(label.text(), needed, room.size())


def button_problems(button: QAbstractButton) -> list[str]:
    """The text (and icon) against the part of the button its style draws them in."""
    option = QStyleOptionButton()
    option.initFrom(button)
    option.text = button.text()
    element = next(element for kind, element in BUTTON_CONTENTS.items() if isinstance(button, kind))
    room = button.style().subElementRect(element, option, button)
    needed = line_size(button.fontMetrics(), button.text(), int(Qt.TextShowMnemonic))
    if not button.icon().isNull():
        needed += QSize(button.iconSize().width() + 4, 0)
    return too_small(button.text(), needed, room.size())


def combo_problems(combo: QComboBox) -> list[str]:
    """The current text against the combo box's edit field, less the pixel Qt keeps each side of it."""
    option = QStyleOptionComboBox()
    option.initFrom(combo)
    option.editable = combo.isEditable()
    option.currentText = combo.currentText()
    room = combo.style().subControlRect(QStyle.CC_ComboBox, option, QStyle.SC_ComboBoxEditField, combo)
    return too_small(combo.currentText(), line_size(combo.fontMetrics(), combo.currentText()) + QSize(2, 0),
                     room.size())


def line_edit_problems(edit: QLineEdit) -> list[str]:
    """A field narrower than a few characters (a spin box's, narrower than its value). Qt's size hint for a
    field is 17 'x' wide plus its frame and margins: what is left of the hint without them is the frame."""
    metrics = edit.fontMetrics()
    frame = edit.sizeHint().width() - 17 * metrics.horizontalAdvance("x")
    value = edit.text() if isinstance(edit.parentWidget(), QAbstractSpinBox) else ""
    needed = max(metrics.horizontalAdvance(FEW_CHARACTERS), metrics.horizontalAdvance(value)) + frame
    return too_small(text_of(edit), QSize(needed, 0), edit.size())


def group_box_problems(box: QGroupBox) -> list[str]:
    """The title inside the box."""
    option = QStyleOptionGroupBox()
    option.initFrom(box)
    option.text = box.title()
    option.subControls = QStyle.SC_GroupBoxLabel | QStyle.SC_GroupBoxFrame
    option.textAlignment = box.alignment()
    title = box.style().subControlRect(QStyle.CC_GroupBox, option, QStyle.SC_GroupBoxLabel, box)
    return too_small(box.title(), QSize(title.right() + 1, 0), box.size())


def tab_problems(bar: QTabBar) -> list[str]:
    """Each tab's text whole (not elided), and each tab inside the bar (no scroll arrows hiding one)."""
    padding = bar.style().pixelMetric(QStyle.PM_TabBarTabHSpace, None, bar)
    problems = []
    for index in range(bar.count()):
        tab, text = bar.tabRect(index), bar.tabText(index)
        problems += too_small(text, line_size(bar.fontMetrics(), text, int(Qt.TextShowMnemonic)) + QSize(padding, 0),
                              tab.size())
        problems += too_small(text, QSize(tab.right() + 1, 0), bar.size(), " lies outside the tab bar")
    return problems


def header_problems(header: QHeaderView) -> list[str]:
    """Each section at least as wide (or, in a vertical header, as tall) as Qt's own size hint for its
    text, every line of it, and its sort arrow; the header as thick as its thickest section needs."""
    horizontal = header.orientation() == Qt.Horizontal
    thickness, needed_thickness = ((header.height(), header.sizeHint().height()) if horizontal
                                   else (header.width(), header.sizeHint().width()))
    problems = []
    for section in range(header.count()):
        if header.isSectionHidden(section):
            continue
        text = str(header.model().headerData(section, header.orientation()))
        needed = QSize(header.sectionSizeHint(section), needed_thickness)
        got = QSize(header.sectionSize(section), thickness)
        problems += too_small(text, needed, got) if horizontal else too_small(text, needed.transposed(),
                                                                              got.transposed())
    return problems


def shown_text(table: QTableView, index, cell: QRect) -> str:
    """A cell's text as its delegate draws it in ``cell``: ``ui.widgets.UnitsWholeDelegate`` adds word joiners,
    ``ui.widgets.WordCutDelegate`` cuts a text too long for the cell."""
    delegate = table.itemDelegateForIndex(index)
    if not isinstance(delegate, QStyledItemDelegate):
        return "" if index.data() is None else str(index.data())
    option = QStyleOptionViewItem()
    table.initViewItemOption(option)
    option.rect = cell
    delegate.initStyleOption(option, index)
    return option.text


def cell_problems(table: QTableView) -> list[str]:
    """Each cell's text whole in its cell as laid out now (wrapped when the table wraps), or cut as
    ``cut_problems`` allows, and the cell inside the view, unless the view scrolls to it."""
    model, viewport = table.model(), table.viewport().rect()
    margin = table.style().pixelMetric(QStyle.PM_FocusFrameHMargin, None, table) + 1
    problems = []
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            if table.isRowHidden(row) or table.isColumnHidden(column):
                continue
            index = model.index(row, column)
            cell = table.visualRect(index)
            text = shown_text(table, index, cell)
            room = cell.adjusted(margin, 0, -margin, 0)
            if index.data(Qt.DecorationRole) is not None:
                room.setLeft(room.left() + table.iconSize().width() + margin)
            font = index.data(Qt.FontRole) or table.font()
            needed = (wrapped_size(font, text, room.width()) if table.wordWrap()
                      else line_size(QFontMetrics(font), text))
            said = too_small(text, needed, room.size()) + out_of_reach(table, cell, viewport, text)
            said += cut_problems(index, text)
            problems += [f"cell {row},{column} {problem}" for problem in said]
    return problems


def cut_problems(index, shown: str) -> list[str]:
    """A cell may show less than its text only as whole words followed by an ellipsis (punctuation at the
    cut may go), never inside a word or between a figure and its unit, and with the whole text in its
    tooltip: the rest is one pointer's rest, or one click into the details, away."""
    whole = "" if index.data() is None else str(index.data())
    if shown.replace(WORD_JOINER, "").replace(LINE_SEPARATOR, "\n") == whole:
        return []
    if not shown.endswith(ELLIPSIS):
        return [f"{whole!r} is shown as {shown!r}, cut with no ellipsis"]
    head = shown[:-len(ELLIPSIS)]
    rest = whole[len(head):].lstrip(CUT_PUNCTUATION)
    problems = []
    if not whole.startswith(head) or (head and not rest.startswith(" ")):
        problems.append(f"{whole!r} is cut inside a word, as {shown!r}")
    if whole not in str(index.data(Qt.ToolTipRole) or ""):
        problems.append(f"{whole!r} is cut, as {shown!r}, and its tooltip does not hold it whole")
    return problems


def row_problems(view: QListView | QTableView | QTreeView) -> list[str]:
    """A view that scrolls shows ``VISIBLE_ROWS`` rows whole (all, when it has fewer)."""
    model = view.model()
    rows = [view.visualRect(model.index(row, 0)).height() for row in range(min(model.rowCount(), VISIBLE_ROWS))]
    needed = QSize(view.viewport().width(), sum(rows))
    return too_small(view.accessibleName(), needed, view.viewport().size(), f" shows fewer than {len(rows)} rows")


def scene_text_problems(view: QGraphicsView) -> list[str]:
    """Text drawn in a graphics view (a plot's axis titles and labels) whole in the view, and inside every
    item above it that clips its children (a plot's view box)."""
    problems = []
    for item in view.items():
        if not (isinstance(item, QGraphicsTextItem) and item.isVisible() and item.toPlainText()):
            continue
        margin = item.document().documentMargin()  # blank around the text, which may be cut
        text = item.mapRectToScene(item.boundingRect().adjusted(margin, margin, -margin, -margin))
        room = view.mapToScene(view.viewport().rect()).boundingRect()
        parent = item.parentItem()
        while parent is not None:
            if parent.flags() & QGraphicsItem.ItemClipsChildrenToShape:
                room = room.intersected(parent.sceneBoundingRect())
            parent = parent.parentItem()
        if not room.contains(text):
            needed = room.united(text).size().toSize()
            problems += too_small(item.toPlainText(), needed, room.size().toSize(), " lies outside its plot")
    return problems


CHECKS = ((QLabel, label_problems), (tuple(BUTTON_CONTENTS), button_problems), (QComboBox, combo_problems),
          (QLineEdit, line_edit_problems), (QGroupBox, group_box_problems), (QTabBar, tab_problems),
          (QHeaderView, header_problems), (QTableView, cell_problems),
          ((QListView, QTableView, QTreeView), row_problems), (QGraphicsView, scene_text_problems))
"""Which check each kind of widget gets (a table gets the cells' and the rows'; a header, an item view too,
only its own)."""


# --- where each widget lies ------------------------------------------------------------------------------

def placement_problems(widget: QWidget) -> list[str]:
    """Outside its parent, which clips it (unless a scroll area scrolls to it), or over a sibling."""
    parent = widget.parentWidget()
    area = parent.parentWidget()
    text = text_of(widget)
    if isinstance(area, QAbstractScrollArea) and parent is area.viewport():
        problems = out_of_reach(area, widget.geometry(), parent.rect(), text)
    else:
        problems = too_small(text, reach(widget.geometry(), parent.size()), parent.size(),
                             f" lies outside {type(parent).__name__}")
    if widget.objectName().startswith(QT_INTERNAL):
        return problems
    for sibling in parent.children():
        if (sibling is not widget and isinstance(sibling, QWidget) and sibling.isVisible() and not sibling.isWindow()
                and not sibling.objectName().startswith(QT_INTERNAL)
                and sibling.geometry().intersects(widget.geometry())):
            problems.append(f"{text!r} overlaps {type(sibling).__name__} {text_of(sibling)!r} "
                            f"(at {rect_text(widget.geometry())} and {rect_text(sibling.geometry())})")
    return problems


def out_of_reach(area: QAbstractScrollArea, rect: QRect, viewport: QRect, text: str) -> list[str]:
    """``rect`` (in the viewport) reaching past an edge of the viewport that the area never scrolls across."""
    needed = reach(rect, viewport.size())
    if area.horizontalScrollBarPolicy() != Qt.ScrollBarAlwaysOff:
        needed.setWidth(viewport.width())
    if area.verticalScrollBarPolicy() != Qt.ScrollBarAlwaysOff:
        needed.setHeight(viewport.height())
    return too_small(text, needed, viewport.size(), " lies outside the view")


def reach(rect: QRect, room: QSize) -> QSize:
    """How big ``room`` would have to be to hold ``rect`` whole: its own size plus what overhangs each edge."""
    return QSize(room.width() + max(0, -rect.left()) + max(0, rect.right() + 1 - room.width()),
                 room.height() + max(0, -rect.top()) + max(0, rect.bottom() + 1 - room.height()))


def rect_text(rect: QRect) -> str:
    return f"{rect.x()},{rect.y()} {rect.width()}x{rect.height()}"

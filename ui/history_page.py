"""The History page: the patient's dose history from the clinic's store, over months and across pumps, the daily
dose, the concentration and the refills plotted, and every entry in a table below.

Why from the store and not the pump: a pump holds its own program and a few weeks of events; the patient's history
outlives a pump replacement, and the store keeps every verified write, refill and bolus made by any workstation.
The figures are ``ui.view_models.history``'s; this page only draws them. Its plots are built a part per turn of
the event loop (``parts``), as the Program page's are, and drawn a plot per turn, so the GUI thread never holds still
long building or drawing them.
Drawn again (a write verified, a refill recorded), each plot keeps its lines and its legend and is given the new
figures (``setData``, pyqtgraph's fast path), and the dates shown are set from the figures rather than found by
auto-range; what did not change (the table's rows, a plot's figures) is not touched: removing the lines and their
legend and making them again cost some 20 ms of the GUI thread at every write.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ui.view_models import history
from ui.view_models.palette import CURRENT_LINE, PLOT_BACKGROUND, PLOT_TEXT, PROPOSED_LINE, THRESHOLD_TEXT
from ui.turns import Turns
from ui.widgets import WrappedText

PENS = (pg.mkPen(color=PROPOSED_LINE, width=2), pg.mkPen(color=CURRENT_LINE, width=2, style=Qt.PenStyle.DashLine))
REFILL_BRUSH = pg.mkBrush(THRESHOLD_TEXT)
NO_HISTORY = "No dose history recorded for this patient yet: verified writes, refills and boluses appear here."
NO_PATIENT = "No patient: the History page shows the dose history of the patient whose pump is read."


def _plot(left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background=PLOT_BACKGROUND, axisItems={"bottom": pg.DateAxisItem()}, enableMenu=False)
    for side in ("left", "bottom"):
        plot.getAxis(side).setPen(PLOT_TEXT)
        plot.getAxis(side).setTextPen(PLOT_TEXT)
    plot.setLabel("left", left)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the table gives the same figures as text
    plot.addLegend(offset=(10, 5), labelTextColor=PLOT_TEXT)
    return plot


class HistoryPage(QWidget):
    """``show_history(title, entries)`` draws a patient's entries (``clinic.patients.DoseEntry``, oldest first);
    ``drawn`` says that a drawing is done."""

    drawn = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.layout_ = QVBoxLayout(self)
        self.title = WrappedText(NO_PATIENT)
        self.title.setAccessibleName("History of")
        self.layout_.addWidget(self.title)
        self.table = QTableWidget(0, len(history.COLUMNS))
        self.table.setHorizontalHeaderLabels(history.COLUMNS)
        self.table.setAccessibleName("Dose history")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.dose_plot: pg.PlotWidget | None = None
        self.concentration_plot: pg.PlotWidget | None = None
        self.refill_plot: pg.PlotWidget | None = None
        self.entries: list = []
        self.rows: list[tuple[str, ...]] = []
        """What the table shows."""
        self._built = False
        self._drawing = Turns(self)
        """The drawing under way, a plot a turn of the event loop (``_draw``)."""
        self.parts = self._build()

    @property
    def ready(self) -> bool:
        """True once built (``parts`` exhausted) and the history last given drawn: each is drawn a plot per turn of
        the event loop after ``show_history``, which fills the table at once."""
        return self._built and not self._drawing.busy

    def _build(self) -> Iterator[None]:
        """The plots, one per step, then the table under them; then they are drawn (``_draw``)."""
        self.dose_plot = _plot("Daily dose")
        self.layout_.addWidget(self.dose_plot, 2)
        yield
        self.concentration_plot = _plot("Concentration")
        self.layout_.addWidget(self.concentration_plot, 1)
        yield
        self.refill_plot = _plot("Refill (mL)")
        self.layout_.addWidget(self.refill_plot, 1)
        self.concentration_plot.setXLink(self.dose_plot)
        self.refill_plot.setXLink(self.dose_plot)
        yield
        self.layout_.addWidget(self.table, 2)
        self._built = True
        self._draw()

    def show_history(self, title: str, entries: list, now: datetime | None = None) -> None:
        self.title.setText(f"{title}: {history.count_text(entries)}" if entries else f"{title}: {NO_HISTORY}")
        self.entries = list(entries)
        self.now = now or datetime.now(timezone.utc)
        self._fill_table(history.rows(self.entries))
        self._draw()

    def _fill_table(self, rows: list[tuple[str, ...]]) -> None:
        """The rows, unless the table shows them already (the same history read again)."""
        if rows == self.rows:
            return
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if 3 <= c <= 6:  # the figures; the user name reads from the left
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)

    def clear(self) -> None:
        self.title.setText(NO_PATIENT)
        self.entries = []
        self._fill_table([])
        self._draw()

    def _draw(self) -> None:
        """Draw the entries from the next turn of the event loop on, a plot a turn (the first drawing of a patient's
        history makes the lines and their legend, some 10 ms a plot); a drawing under way is dropped for this one.
        Before the plots are built, nothing: the build draws them when done."""
        if self._built:
            self._drawing.replace(self._drawings())

    def _drawings(self) -> Iterator[None]:
        """The three plots' drawings, each short enough for one turn of the event loop, then the dates they share."""
        now = getattr(self, "now", datetime.now(timezone.utc))
        assert self.dose_plot is not None and self.concentration_plot is not None and self.refill_plot is not None
        doses = history.daily_dose_steps(self.entries, now)
        concentrations = history.concentration_steps(self.entries, now)
        refills = history.refill_points(self.entries)
        _draw_steps(self.dose_plot, doses)
        yield
        _draw_steps(self.concentration_plot, concentrations)
        yield
        _draw_refills(self.refill_plot, refills)
        yield
        _share_dates(self.dose_plot, history.date_span(doses + concentrations, refills))
        self.drawn.emit()


def _draw_steps(plot: pg.PlotWidget, series: list[history.Steps]) -> None:
    """The step lines, on the lines drawn before when they are as many and named alike (the legend stays as it
    is), else on new ones."""
    items = plot.getPlotItem().listDataItems()
    if [item.name() for item in items] != [steps.label for steps in series]:
        plot.clear()
        items = [plot.plot(stepMode="center", pen=pen, name=steps.label)
                 for steps, pen in zip(series, PENS * len(series))]
    for item, steps in zip(items, series):
        xs, ys = item.getData()
        if xs is None or tuple(xs) != steps.xs or tuple(ys) != steps.ys:
            item.setData(steps.xs, steps.ys, skipFiniteCheck=True)  # dates and doses: finite by construction
    _value_range(plot, max((max(steps.ys) for steps in series), default=0.0))


def _draw_refills(plot: pg.PlotWidget, refills: history.Points) -> None:
    """The refills' bars, on the bar item drawn before when there is one."""
    bars = [item for item in plot.getPlotItem().items if isinstance(item, pg.BarGraphItem)]
    if not refills.xs:
        plot.clear()
    elif bars:
        if (bars[0].opts["x"], bars[0].opts["height"]) != (refills.xs, refills.ys):
            bars[0].setOpts(x=refills.xs, height=refills.ys, width=history.bar_width_s(refills))
    else:
        plot.addItem(pg.BarGraphItem(x=refills.xs, height=refills.ys, width=history.bar_width_s(refills),
                                     brush=REFILL_BRUSH, name=refills.label))
    _value_range(plot, max(refills.ys, default=0.0))


def _value_range(plot: pg.PlotWidget, top: float) -> None:
    """The values from zero: a dose drawn from its own minimum makes a small change look like a cliff."""
    plot.setYRange(0, top * 1.15 or 1.0)


def _share_dates(plot: pg.PlotWidget, span: tuple[float, float] | None) -> None:
    """The dates shown as far as the data go, on the plot the other two follow (their x axes are linked to it): the
    span is known, so pyqtgraph need not look for it in every item (auto-range); its margin is auto-range's own."""
    if span is not None:
        plot.setXRange(*span)

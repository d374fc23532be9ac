"""The History page: the patient's dose history from the clinic's store, over months and across pumps, the daily
dose, the concentration and the refills plotted, and every entry in a table below.

Why from the store and not the pump: a pump holds its own program and a few weeks of events; the patient's history
outlives a pump replacement, and the store keeps every verified write, refill and bolus made by any workstation.
The figures are ``ui.view_models.history``'s; this page only draws them. Its plots are built a part per turn of
the event loop (``parts``), as the Program page's are, so the GUI thread never holds still long building them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ui.view_models import history
from ui.view_models.palette import CURRENT_LINE, PLOT_BACKGROUND, PLOT_TEXT, PROPOSED_LINE, THRESHOLD_TEXT
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
    """``show_history(title, entries)`` draws a patient's entries (``clinic.patients.DoseEntry``, oldest first)."""

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
        self.ready = False
        """True once built and drawn (``parts`` exhausted): from then on each change is drawn at once."""
        self.parts = self._build()

    def _build(self) -> Iterator[None]:
        """The plots, one per step, then the table under them, then each plot drawn, one per step."""
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
        for draw in self._drawings():
            yield
            draw()
        self.ready = True

    def show_history(self, title: str, entries: list, now: datetime | None = None) -> None:
        self.title.setText(f"{title}: {history.count_text(entries)}" if entries else f"{title}: {NO_HISTORY}")
        self.entries = list(entries)
        self.now = now or datetime.now(timezone.utc)
        rows = history.rows(self.entries)
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if 3 <= c <= 6:  # the figures; the user name reads from the left
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self._draw()

    def clear(self) -> None:
        self.title.setText(NO_PATIENT)
        self.entries = []
        self.table.setRowCount(0)
        self._draw()

    def _draw(self) -> None:
        if self.ready:  # else drawn by the last parts of the build
            for draw in self._drawings():
                draw()

    def _drawings(self) -> tuple[Callable[[], None], ...]:
        """The three plots' drawings, each short enough for one turn of the event loop."""
        now = getattr(self, "now", datetime.now(timezone.utc))
        assert self.dose_plot is not None and self.concentration_plot is not None and self.refill_plot is not None
        dose, concentration, refill = self.dose_plot, self.concentration_plot, self.refill_plot
        return (lambda: _draw_steps(dose, history.daily_dose_steps(self.entries, now)),
                lambda: _draw_steps(concentration, history.concentration_steps(self.entries, now)),
                lambda: _draw_refills(refill, history.refill_points(self.entries)))


def _draw_steps(plot: pg.PlotWidget, series: list[history.Steps]) -> None:
    plot.clear()
    for steps, pen in zip(series, PENS * len(series)):
        plot.plot(steps.xs, steps.ys, stepMode="center", pen=pen, name=steps.label)
    _ranges(plot, max((max(steps.ys) for steps in series), default=0.0))


def _draw_refills(plot: pg.PlotWidget, refills: history.Points) -> None:
    plot.clear()
    if refills.xs:
        plot.addItem(pg.BarGraphItem(x=refills.xs, height=refills.ys, width=history.bar_width_s(refills),
                                     brush=REFILL_BRUSH, name=refills.label))
    _ranges(plot, max(refills.ys, default=0.0))


def _ranges(plot: pg.PlotWidget, top: float) -> None:
    """The dates shown as far as the data go (the three plots share them), the values from zero: a dose drawn from
    its own minimum makes a small change look like a cliff."""
    plot.enableAutoRange(axis="x")
    plot.setYRange(0, top * 1.15 or 1.0)

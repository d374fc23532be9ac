"""The preview plots: dose rate over the cycle and reservoir volume over the coming weeks, current and
proposed overlaid, with the low-alarm threshold and dates marked and a read-out under the pointer.

One plot item per series, created once and fed with ``setData`` (pyqtgraph's fast path), so the plots
follow every keystroke. Current and proposed differ by line style and by name in the legend and the
read-out, not by colour alone.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from programmer.planner import Plan
from ui.format import cycle_offset, moment, number
from ui.series import (DEFAULT_HORIZON_DAYS, RateSeries, ReservoirSeries, common_span_min, from_posix, rate_series,
                       reservoir_series)

CURRENT_PEN = pg.mkPen(color=(110, 110, 110), width=2, style=Qt.DashLine)
PROPOSED_PEN = pg.mkPen(color=(0, 90, 200), width=3)
THRESHOLD_PEN = pg.mkPen(color=(190, 120, 0), width=1, style=Qt.DotLine)
EMPTY_RATE = RateSeries([], [])
EMPTY_RESERVOIR = ReservoirSeries([], [], None, None)


def _plot(left: str, bottom: str, axis: pg.AxisItem | None = None) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w", axisItems={"bottom": axis} if axis else None)
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)
    plot.addLegend(offset=(-10, 10))
    plot.setFocusPolicy(Qt.NoFocus)  # the same figures are given as text; the plots are not a tab stop
    return plot


class _DateMarker(pg.InfiniteLine):
    """A vertical line at a date with a label naming it, hidden when the date is outside the horizon."""

    def __init__(self, name: str, pen: pg.QtGui.QPen, position: float):
        super().__init__(angle=90, movable=False, pen=pen,
                         label=name, labelOpts={"position": position, "color": pen.color(), "fill": (255, 255, 255, 200)})
        self.name = name

    def place(self, at: float | None) -> None:
        self.setVisible(at is not None)
        if at is not None:
            self.setValue(at)
            self.label.setFormat(f"{self.name}\n{moment(from_posix(at))}")


class PreviewPlots(QWidget):
    def __init__(self, parent: QWidget | None = None, horizon_days: float = DEFAULT_HORIZON_DAYS):
        super().__init__(parent)
        self.horizon_days = horizon_days
        self.unit = ""
        self.rates = {"current": EMPTY_RATE, "proposed": EMPTY_RATE}
        self.volumes = {"current": EMPTY_RESERVOIR, "proposed": EMPTY_RESERVOIR}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        self.rate_plot = _plot("Dose rate", "Hours from day 1 00:00 of the cycle (h)")
        self.rate_items = {
            "current": self.rate_plot.plot(name="current (pump now)", stepMode="center", pen=CURRENT_PEN),
            "proposed": self.rate_plot.plot(name="proposed (this draft)", stepMode="center", pen=PROPOSED_PEN),
        }
        self.rate_readout = QLabel(" ")
        self.rate_plot.setAccessibleName("Dose rate over the cycle, current and proposed")

        self.volume_plot = _plot("Reservoir (mL)", "Date (pump clock)", pg.DateAxisItem(orientation="bottom"))
        self.volume_items = {
            "current": self.volume_plot.plot(name="current (pump now)", pen=CURRENT_PEN),
            "proposed": self.volume_plot.plot(name="proposed (this draft)", pen=PROPOSED_PEN),
        }
        self.threshold = pg.InfiniteLine(angle=0, movable=False, pen=THRESHOLD_PEN, label="low alarm {value:g} mL",
                                         labelOpts={"position": 0.9, "color": (150, 90, 0), "fill": (255, 255, 255, 200)})
        self.volume_plot.addItem(self.threshold)
        self.markers = {
            ("proposed", "low"): _DateMarker("low alarm (proposed)", PROPOSED_PEN, 0.62),
            ("proposed", "empty"): _DateMarker("empty (proposed)", PROPOSED_PEN, 0.45),
            ("current", "low"): _DateMarker("low alarm (current)", CURRENT_PEN, 0.28),
            ("current", "empty"): _DateMarker("empty (current)", CURRENT_PEN, 0.11),
        }
        for marker in self.markers.values():
            self.volume_plot.addItem(marker)
        self.volume_readout = QLabel(" ")
        self.volume_plot.setAccessibleName("Reservoir volume over the coming weeks, current and proposed")

        for widget in (self.rate_plot, self.rate_readout, self.volume_plot, self.volume_readout):
            layout.addWidget(widget, 1 if isinstance(widget, pg.PlotWidget) else 0)
        self._cursors = [self._hover(self.rate_plot, self._rate_text, self.rate_readout),
                         self._hover(self.volume_plot, self._volume_text, self.volume_readout)]

    def show_plans(self, current: Plan | None, proposed: Plan | None) -> None:
        """Draw both programs; None for a program that does not exist (yet), which clears its lines."""
        span = common_span_min(current, proposed)
        for key, plan in (("current", current), ("proposed", proposed)):
            self.rates[key] = EMPTY_RATE if plan is None else rate_series(plan, span)
            self.volumes[key] = EMPTY_RESERVOIR if plan is None else reservoir_series(plan, self.horizon_days)
            self.rate_items[key].setData(self.rates[key].hours, self.rates[key].rates)
            self.volume_items[key].setData(self.volumes[key].times, self.volumes[key].volumes)
            self.markers[(key, "low")].place(self.volumes[key].low_alarm_at)
            self.markers[(key, "empty")].place(self.volumes[key].empty_at)
        shown = proposed or current
        if shown is not None:
            drug = shown.program.drug
            self.unit = drug.dose_unit
            self.rate_plot.setLabel("left", f"Dose rate ({self.unit}/h)")
            self.threshold.setValue(shown.reservoir.low_alarm_ml)
            self.volume_plot.setYRange(0, shown.reservoir.capacity_ml, padding=0.02)
            self.rate_plot.setXRange(0, span / 60, padding=0.01)
            highest = max((max(series.rates, default=0) for series in self.rates.values()), default=0)
            self.rate_plot.setYRange(0, highest * 1.15 or 1, padding=0)  # from zero: a small change looks small

    # --- read-out ---------------------------------------------------------------------------------

    def _hover(self, plot: pg.PlotWidget, describe, readout: QLabel) -> pg.InfiniteLine:
        cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((0, 0, 0, 90)))
        cursor.setVisible(False)
        plot.addItem(cursor, ignoreBounds=True)

        def moved(position) -> None:
            if not plot.sceneBoundingRect().contains(position):
                return
            x = plot.getPlotItem().vb.mapSceneToView(position).x()
            cursor.setValue(x)
            cursor.setVisible(True)
            readout.setText(describe(x))

        plot.scene().sigMouseMoved.connect(moved)
        return cursor

    def _rate_text(self, hour: float) -> str:
        parts = [f"{cycle_offset(hour * 60)}:"]
        for key in ("proposed", "current"):
            value = self.rates[key].at(hour)
            if value is not None:
                parts.append(f"{key} {number(value)} {self.unit}/h")
        return "  ".join(parts)

    def _volume_text(self, time: float) -> str:
        parts = [f"{moment(from_posix(time))}:"]
        for key in ("proposed", "current"):
            value = self.volumes[key].at(time)
            if value is not None:
                parts.append(f"{key} {number(value, 3)} mL")
        return "  ".join(parts)

"""The preview plots: dose rate over the cycle and reservoir volume over the coming weeks, current and
proposed overlaid, with the low-alarm threshold and dates marked and a read-out under the pointer.

One plot item per series, created once and fed with ``setData`` (pyqtgraph's fast path), so the plots
follow every keystroke within a 60 Hz frame: the ranges are ours and move only when the data's range
does, so an edit leaves the axes' cached drawing (labels, an opaque grid under the curves) as it was and
repaints the lines (``benchmarks/gui_preview_latency.py``). Current and proposed differ by line style and
by name in the legend and the read-out, not by colour alone. Nothing written on a plot may hide another
thing written there: the legend sits above the plots, each axis has one level of labels, and the date
markers' labels are staggered (``ui.view_models.series.stagger_labels``). Every colour written on a plot
has at least 4.5:1 contrast with its background (``ui.view_models.palette``), every axis title its unit,
and the dates are on the pump's clock, as the date axis's title and the read-out say.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFontMetricsF, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui.view_models.format import PUMP_CLOCK, cycle_offset, dated, moment, quantity
from ui.view_models.palette import (CURRENT_LINE, GRID_LINE, PLOT_BACKGROUND, PLOT_TEXT, PROPOSED_LINE, THRESHOLD_LINE,
                                   THRESHOLD_TEXT)
from ui.view_models.series import (DEFAULT_HORIZON_DAYS, TICK_FORMAT, RateSeries, ReservoirSeries, common_span_min,
                                  date_ticks, from_posix, rate_axis_top, rate_series, reservoir_series, stagger_labels,
                                  threshold_label_at_right, tick_format, value_ticks)
from ui.widgets import WrappingLabel

if TYPE_CHECKING:  # the window builds its plots before the domain's models: they only name types here
    from programmer.dead_volume import Transit
    from programmer.planner import Plan

CURRENT_PEN = pg.mkPen(color=CURRENT_LINE, width=2, style=Qt.PenStyle.DashLine)
PROPOSED_PEN = pg.mkPen(color=PROPOSED_LINE, width=3)
THRESHOLD_PEN = pg.mkPen(color=THRESHOLD_LINE, width=1, style=Qt.PenStyle.DotLine)
EMPTY_RATE = RateSeries([], [])
EMPTY_RESERVOIR = ReservoirSeries([], [], None, None)
SERIES = (("current", "current (pump now)", CURRENT_PEN), ("proposed", "proposed (this draft)", PROPOSED_PEN))
BOTTOM_TICKS_PX = 8
"""The bottom axis's ticks and the gap between them and their labels (pyqtgraph's 5 and 2, and a pixel)."""
GRID_Z = -200
"""Below the view box (pyqtgraph's -100), whose children are the curves: the axes' grid is drawn under them."""
TICK_LABEL_GAP = 1.5
"""Tick labels along a bottom axis are at least one and a half label lengths apart."""
TICK_LABEL_GAP_UP = 2.0
"""Up a left axis, at least two label heights: one blank line between labels."""
DATE_PADDING = 0.04
"""The reservoir plot's margin either side of the projection, a fraction of its span (pyqtgraph's auto-range
gave some 0.04 at the usual widths): the line does not start on the axis."""
LABEL_FILL = (255, 255, 255, 235)
"""Nearly opaque white: a line passing behind a label must not strike through its text, and the text keeps
its contrast against the plot's white."""


def _plot(left: str, bottom: str, axis: pg.AxisItem | None = None) -> pg.PlotWidget:
    """A plot whose ranges are set by ``PreviewPlots`` only (no auto-range to recompute at each ``setData``), and
    whose grid is opaque and under the curves: the axes draw it, placed beneath the view box, so a repaint of
    the curves replays the axes' cached drawing rather than blending translucent lines over the plot."""
    # enableMenu=False at construction: no context menu, and its view box's menu is never built (some 3 ms a plot)
    axes = {"left": _ValueAxis("left"), "bottom": axis or _ValueAxis("bottom")}
    plot = pg.PlotWidget(background=PLOT_BACKGROUND, axisItems=axes, enableMenu=False)
    plot.getViewBox().enableAutoRange(enable=False)
    for side in ("left", "bottom"):  # pyqtgraph's default grey is about 3:1 on white
        plot.getAxis(side).setPen(PLOT_TEXT)
        plot.getAxis(side).setTextPen(PLOT_TEXT)
        plot.getAxis(side).setTickPen(GRID_LINE)
        plot.getAxis(side).setStyle(tickAlpha=255)
        plot.getAxis(side).setZValue(GRID_Z)
    plot.setLabel("bottom", bottom)
    _left_title(plot, left)
    plot.showGrid(x=True, y=True)
    plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the same figures are given as text; the plots are not a tab stop
    return plot


def _left_title(plot: pg.PlotWidget, title: str) -> None:
    """Title the left axis, and keep the plot tall enough for the title beside the axis: pyqtgraph centres it
    on the axis and cuts what overhangs the plot ("Dose rate (mcg/h" in a short plot). Below the axis, room
    for the bottom axis: two lines of text (tick labels, title) and its ticks (pyqtgraph sizes that axis only
    once it is drawn)."""
    plot.setLabel("left", title)
    length = plot.getAxis("left").label.boundingRect().width()
    bottom = 2 * QFontMetricsF(plot.getAxis("bottom").label.font()).height() + BOTTOM_TICKS_PX
    plot.setMinimumHeight(math.ceil(length + bottom))


def _legend(series: tuple[tuple[str, str, pg.QtGui.QPen], ...] = SERIES) -> QWidget:
    """One legend above both plots, a sample of each line beside its name. Inside a plot a legend covered
    the very lines it explains whenever a dose step ran across its corner. The names wrap in plots made
    narrow (large text beside the review's figures) rather than hold the plots wider than the window."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for _, name, pen in series:
        text = WrappingLabel(name)
        height = text.fontMetrics().height()
        sample = QPixmap(3 * height, height)
        sample.fill(Qt.GlobalColor.transparent)
        painter = QPainter(sample)
        painter.setPen(pen)
        painter.drawLine(QPointF(0, height / 2), QPointF(3 * height, height / 2))
        painter.end()
        picture = QLabel()
        picture.setPixmap(sample)
        layout.addWidget(picture)
        layout.addWidget(text)
        layout.addSpacing(height)
    layout.addStretch(1)
    return row


class _ValueAxis(pg.AxisItem):
    """A value axis with one level of round ticks (``ui.view_models.series.value_ticks``), spaced so that no two
    labels touch; each tick's grid line is drawn across the plot. pyqtgraph's own two or three levels drew
    some forty translucent grid lines a plot."""

    def __init__(self, orientation: str):
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)  # a dose rate scaled to "x0.001" would hide its unit's meaning

    def tickValues(self, minVal, maxVal, size):
        if size <= 0 or maxVal <= minVal:
            return []
        metrics = QFontMetricsF(self.font())
        if self.orientation in ("left", "right"):
            label = TICK_LABEL_GAP_UP * metrics.height()
        else:
            label = TICK_LABEL_GAP * max(metrics.horizontalAdvance(f"{value:g}") for value in (minVal, maxVal))
        step, ticks = value_ticks(minVal, maxVal, label * (maxVal - minVal) / size)
        return [(step, ticks)]


class _DateAxis(_ValueAxis):
    """The reservoir plot's time axis: one tick per day, week or more (``ui.view_models.series.date_ticks``), each
    labelled '07 Dec' ('07 Dec 2026' when the view runs into another year, ``ui.view_models.series.tick_format``) and
    spaced so that no two labels touch."""

    def __init__(self, orientation: str):
        super().__init__(orientation)
        self.format = TICK_FORMAT

    def tickValues(self, minVal, maxVal, size):
        if size <= 0 or maxVal <= minVal:
            return []
        self.format = tick_format(minVal, maxVal)  # pyqtgraph asks for the values, then their strings
        label = QFontMetricsF(self.font()).horizontalAdvance(from_posix(maxVal).strftime(self.format))
        seconds_per_pixel = (maxVal - minVal) / size
        ticks = date_ticks(minVal, maxVal, TICK_LABEL_GAP * label * seconds_per_pixel)
        return [(ticks[1] - ticks[0] if len(ticks) > 1 else 86400, ticks)]

    def tickStrings(self, values, scale, spacing):
        return [from_posix(value).strftime(self.format) for value in values]


class _DateMarker(pg.InfiniteLine):
    """A vertical line at a date with a label naming it, hidden when the date is outside the horizon.

    The line rises from the axis to its label only (``pin``), so it does not run through the labels of
    other markers stacked above it.
    """

    def __init__(self, name: str, pen: pg.QtGui.QPen):
        super().__init__(angle=90, movable=False, pen=pen, label=name,
                         labelOpts={"position": 1.0, "color": pen.color(), "fill": LABEL_FILL})
        self.name = name

    def place(self, at: float | None) -> None:
        self.setVisible(at is not None)
        if at is not None and at != self.value():  # the label's text is set (laid out again) only when it changes
            self.setValue(at)
            # The date alone: the axis title names its clock, and a longer label would not fit a small plot.
            self.label.setFormat(f"{self.name}\n{moment(from_posix(at))}")

    def label_size(self) -> tuple[float, float]:
        box = self.label.textItem.boundingRect()
        return box.width(), box.height()

    def pin(self, top: float, right: bool) -> None:
        """End the line at ``top`` (a fraction of the view's height) with the label's upper corner there,
        the label reading to the right of the line or to the left."""
        self.setSpan(0, top)
        self.label.anchors = [(0, 0), (0, 0)] if right else [(1, 0), (1, 0)]
        self.viewTransformChanged()  # setSpan keeps the cached extent: recompute it, and the label's place
        self.label.updatePosition()


class PreviewPlots(QWidget):
    drawn = Signal()
    """After each ``show_plans``: the plots hold the programs given (one a keystroke in the editor)."""

    def __init__(self, parent: QWidget | None = None, horizon_days: float = DEFAULT_HORIZON_DAYS,
                 staged: bool = False):
        """``staged``: build only when the caller steps through ``parts`` (the window does it one part per turn
        of the event loop, so that building, some 50 to 100 ms, never holds the GUI thread at once); the plots
        are usable once ``parts`` is exhausted. Otherwise they are built here."""
        super().__init__(parent)
        self.parts = self._build(horizon_days)
        if not staged:
            for _ in self.parts:
                pass

    def _build(self, horizon_days: float) -> Iterator[None]:
        self.horizon_days = horizon_days
        self.unit = ""
        self.rates = {"current": EMPTY_RATE, "proposed": EMPTY_RATE}
        self.volumes = {"current": EMPTY_RESERVOIR, "proposed": EMPTY_RESERVOIR}
        # What each line was drawn from: a projection drawn already is not computed and drawn again.
        self._drawn: dict[str, tuple | None] = {"current": None, "proposed": None}
        self._placing = True
        """False while ``show_plans`` draws: the labels are placed once, when all is drawn."""
        self.plans: tuple[Plan | None, Plan | None] = (None, None)
        """What the plots show: the programs last given to ``show_plans``, current and proposed."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_legend())

        self.rate_plot = _plot("Dose rate (dose unit/h)", "Hours from day 1 00:00 of the cycle (h)")
        yield
        self.rate_items = {key: self.rate_plot.plot(stepMode="center", pen=pen) for key, _, pen in SERIES}
        self.rate_readout = QLabel(" ")
        self.rate_plot.setAccessibleName("Dose rate over the cycle, current and proposed")
        yield

        self.volume_plot = _plot("Reservoir (mL)", f"Date ({PUMP_CLOCK})", _DateAxis(orientation="bottom"))
        yield
        self.volume_items = {key: self.volume_plot.plot(pen=pen) for key, _, pen in SERIES}
        for items in (self.rate_items, self.volume_items):
            # The pump's line does not change while a draft is typed, but each edit repaints the plot under it:
            # a pixmap of it, drawn again only when its data or the view's scale change, costs less than its
            # dashes stroked again (a 90-day reservoir line has a point at every step).
            items["current"].curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        yield
        self.threshold = pg.InfiniteLine(angle=0, movable=False, pen=THRESHOLD_PEN,
                                         label="low alarm {value:g}\u00a0mL",
                                         labelOpts={"color": THRESHOLD_TEXT, "fill": LABEL_FILL})
        self.volume_plot.addItem(self.threshold)
        self.markers = {(key, what): _DateMarker(f"{name} ({key})", pen)
                        for key, _, pen in SERIES for what, name in (("low", "low alarm"), ("empty", "empty"))}
        for marker in self.markers.values():
            self.volume_plot.addItem(marker)
        yield
        view = self.volume_plot.getViewBox()
        view.sigResized.connect(self._place_labels)
        view.sigRangeChanged.connect(self._place_labels)
        self.volume_readout = QLabel(" ")
        self.volume_plot.setAccessibleName("Reservoir volume over the coming weeks, current and proposed")

        # The reservoir plot gets more height: four dated labels stack in it, the rate plot has none.
        for widget, stretch in ((self.rate_plot, 2), (self.rate_readout, 0), (self.volume_plot, 3),
                                (self.volume_readout, 0)):
            layout.addWidget(widget, stretch)
        self._cursors = [self._hover(self.rate_plot, self._rate_text, self.rate_readout),
                         self._hover(self.volume_plot, self._volume_text, self.volume_readout)]

    def show_plans(self, current: Plan | None, proposed: Plan | None) -> None:
        """Draw both programs; None for a program that does not exist (yet), which clears its lines.

        Only what changed is touched: the lines always, the ranges, titles and labels when they differ from
        what is shown (an unchanged range keeps the axes' drawing, so an edit repaints only the lines)."""
        self.plans = (current, proposed)
        self._placing = False  # the ranges set below would each place the labels: placed once, at the end
        try:
            self._draw_plans(current, proposed)
        finally:
            self._placing = True
        self._place_labels()
        self.drawn.emit()

    def _draw_plans(self, current: Plan | None, proposed: Plan | None) -> None:
        span = common_span_min(current, proposed)
        for key, plan in (("current", current), ("proposed", proposed)):
            drawn = None if plan is None else (plan.program, plan.reservoir, plan.start, plan.phase_min, span)
            if drawn is not None and drawn == self._drawn[key]:
                continue  # the pump's program, drawn already: typing changes only the proposed one
            self._drawn[key] = drawn
            self.rates[key] = EMPTY_RATE if plan is None else rate_series(plan, span)
            self.volumes[key] = EMPTY_RESERVOIR if plan is None else reservoir_series(plan, self.horizon_days)
            rates, volumes = self.rates[key], self.volumes[key]
            # Finite by construction (the planner's numbers): pyqtgraph need not look for NaN in them.
            self.rate_items[key].setData(rates.hours, rates.rates, skipFiniteCheck=True)
            self.volume_items[key].setData(volumes.times, volumes.volumes, skipFiniteCheck=True)
            self.markers[(key, "low")].place(volumes.low_alarm_at)
            self.markers[(key, "empty")].place(volumes.empty_at)
        shown = proposed or current
        if shown is not None:
            if shown.program.drug.dose_unit != self.unit:
                self.unit = shown.program.drug.dose_unit
                _left_title(self.rate_plot, f"Dose rate ({self.unit}/h)")
            self.threshold.setValue(shown.reservoir.low_alarm_ml)
            self.volume_plot.setYRange(0, shown.reservoir.capacity_ml, padding=0.02)
            times = [series.times for series in self.volumes.values() if series.times]
            if times:
                self.volume_plot.setXRange(min(t[0] for t in times), max(t[-1] for t in times), padding=DATE_PADDING)
            self.rate_plot.setXRange(0, span / 60, padding=0.01)
            highest = max((max(series.rates, default=0) for series in self.rates.values()), default=0)
            self.rate_plot.setYRange(0, rate_axis_top(highest), padding=0)

    def _place_labels(self) -> None:
        """Place the reservoir plot's labels in pixels of the view as it is now (called again whenever
        the view is resized or its range changes): the markers' labels stacked above the threshold's
        (``ui.view_models.series.stagger_labels``), the threshold's at whichever end of its line is clear of them
        (``ui.view_models.series.threshold_label_at_right``)."""
        if not self._placing:
            return
        view = self.volume_plot.getViewBox()
        width, height = view.width(), view.height()
        (left, right), (bottom, top) = view.viewRange()
        if width <= 0 or height <= 0 or right <= left or top <= bottom:
            return
        shown = [marker for marker in self.markers.values() if marker.isVisible()]
        xs = [(marker.value() - left) / (right - left) * width for marker in shown]
        box = self.threshold.label.textItem.boundingRect()
        base = (self.threshold.value() - bottom) / (top - bottom) * height
        places = stagger_labels(xs, [marker.label_size() for marker in shown], width, height, base + box.height())
        for marker, place in zip(shown, places):
            marker.pin(place.top / height, place.reads_right)
        at_right = threshold_label_at_right(width, (box.width(), box.height()), base, xs, places)
        self.threshold.label.anchors = [(1, 1), (1, 1)] if at_right else [(0, 1), (0, 1)]
        self.threshold.label.setPosition(0.99 if at_right else 0.01)

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
                parts.append(f"{key} {quantity(value, f'{self.unit}/h')}")
        return "  ".join(parts)

    def _volume_text(self, time: float) -> str:
        parts = [f"{dated(from_posix(time), PUMP_CLOCK)}:"]
        for key in ("proposed", "current"):
            value = self.volumes[key].at(time)
            if value is not None:
                parts.append(f"{key} {quantity(value, 'mL', 3)}")
        return "  ".join(parts)


TRANSITION_SERIES = (("without", "without the change", CURRENT_PEN), ("with", "with the change", PROPOSED_PEN))


class TransitionPlots(QWidget):
    """The Bolus page's plots, over the hours from now: the dose rate reaching the patient ("Patient", short: three
    plots' titles must fit beside them on a short window), the pump's rate and the reservoir, each with the change reviewed and without it (``ui.view_models.transit_series``). A dotted line marks
    when the line's old content (spinal fluid after a prime, the old drug) has left the catheter with the change."""

    drawn = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.unit = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_legend(TRANSITION_SERIES))
        bottom = "Hours from now (h)"
        self.patient_plot = _plot("Patient (dose unit/h)", bottom)
        self.patient_plot.setAccessibleName("Dose rate reaching the patient, with and without the change")
        self.pump_plot = _plot("Pump (mL/h)", bottom)
        self.pump_plot.setAccessibleName("The pump's rate, with and without the change")
        self.reservoir_plot = _plot("Reservoir (mL)", bottom)
        self.reservoir_plot.setAccessibleName("Reservoir volume, with and without the change")
        self.items = {(plot, key): plot.plot(stepMode="center" if plot is not self.reservoir_plot else None, pen=pen)
                      for plot in (self.patient_plot, self.pump_plot, self.reservoir_plot)
                      for key, _, pen in TRANSITION_SERIES}
        self.flushed = pg.InfiniteLine(angle=90, movable=False, pen=THRESHOLD_PEN, label="line flushed",
                                       labelOpts={"position": 0.9, "color": THRESHOLD_TEXT, "fill": LABEL_FILL})
        self.patient_plot.addItem(self.flushed)
        for plot in (self.patient_plot, self.pump_plot, self.reservoir_plot):
            layout.addWidget(plot, 1)

    def show_transits(self, unit: str, without: Transit | None, with_change: Transit | None) -> None:
        """Draw both (None clears a line); the span is the longer transition's (``transit_series.span_min``)."""
        from ui.view_models.transit_series import span_min, transit_series  # the Bolus page's: the domain's reviews

        if unit != self.unit:
            self.unit = unit
            _left_title(self.patient_plot, f"Patient ({unit}/h)")
        transits = [t for t in (without, with_change) if t is not None]
        minutes = span_min(*transits)
        tops = {self.patient_plot: 0.0, self.pump_plot: 0.0, self.reservoir_plot: 0.0}
        flushed = None
        for key, transit in (("without", without), ("with", with_change)):
            series = None if transit is None else transit_series(transit, minutes)
            for plot, values in ((self.patient_plot, series and series.patient_dose_per_hour),
                                 (self.pump_plot, series and series.pump_ml_per_hour)):
                self.items[(plot, key)].setData(series.hours if series else [], values or [])
                tops[plot] = max(tops[plot], max(values or [0.0]))
            self.items[(self.reservoir_plot, key)].setData(series.reservoir_hours if series else [],
                                                           series.reservoir_ml if series else [])
            if series is not None:
                tops[self.reservoir_plot] = max(tops[self.reservoir_plot], max(series.reservoir_ml, default=0.0))
                if key == "with":
                    flushed = series.flushed_at_h
        self.flushed.setVisible(flushed is not None)
        if flushed is not None:
            self.flushed.setValue(flushed)
        for plot, top in tops.items():
            plot.setXRange(0, minutes / 60, padding=0.01)
            plot.setYRange(0, rate_axis_top(top), padding=0)
        self.drawn.emit()

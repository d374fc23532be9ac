"""A session report as a PDF for the patient's chart: one A4 page where it fits, drawn with Qt's own PDF writer.

Why QPdfWriter and QPainter, not a PDF library or pyqtgraph's exporter: the application already carries Qt, whose
PDF writer embeds the fonts and keeps text as text (a reader can search it and ``pdftotext`` can test it) and lines
as vectors (the plots print sharp at any size); the two plots are small and simple enough to draw directly, from
the same series the Program page plots (``ui.view_models.series``), with the same colours. Nothing here needs a
window: ``write_report_pdf`` starts an offscreen application when none runs (the command line's case).

The page: a header; the patient, pump, drug, library, session and user; the program before and after with the
plots (the dose rate over the cycle, the reservoir projected from the visit's reading with the low alarm and the
refill-by date); what was done, the refills with their discrepancy, the boluses, the warnings with their overrides
and reasons; the audit chain's head when the report was made (an anchor on paper: a later reader can check the
trail still leads to it); and a line to sign. Tables that would run past the page continue on the next.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (QColor, QFont, QFontDatabase, QFontMetricsF, QGuiApplication, QPageLayout, QPageSize,
                           QPainter, QPainterPath, QPdfWriter,
                           QPen, QTextOption)
from PySide6.QtWidgets import QApplication

from clinic.session_report import RefillLine, SessionReport, ml_words
from programmer.planner import Plan, mean_daily_dose
from programmer.program import Flex, Program, SimpleContinuous
from programmer.pump import Reservoir
from programmer.refill_by import REASON_WORDS
from ui.view_models.format import NOT_APPLICABLE, PUMP_CLOCK, moment, number, percent_change, quantity
from ui.view_models.palette import CURRENT_LINE, GRID_LINE, PLOT_TEXT, PROPOSED_LINE, THRESHOLD_LINE, THRESHOLD_TEXT
from ui.view_models.series import (DEFAULT_HORIZON_DAYS, date_ticks, from_posix, posix, rate_axis_top, rate_series,
                                   reservoir_series, tick_format, value_ticks)

RESOLUTION_DPI = 600
MARGIN_MM = 14.0
BODY_PT = 8.0
SMALL_PT = 7.0
TITLE_PT = 14.0
HEADING_PT = 9.5
RULE = "#8c8c8c"
HEADER_FILL = "#eef1f5"
REFILL_BY_LINE = "#a00000"
HORIZON_LIMITS_DAYS = (30, 365)
"""The reservoir plot runs a week past the later low alarm (so the refill-by date and the alarm both show), within
these bounds; a program that never reaches the alarm is shown over the Program page's 90 days."""
TITLE = "Intrathecal pump session report"
LIGATURES = ("liga", "clig", "dlig")
"""The OpenType ligature features turned off in the report's text (shaping itself is kept)."""
WRAP = QTextOption(Qt.AlignmentFlag.AlignLeft)
WRAP.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
FOOT_MM = 6.0
"""The foot of each page (patient, session, page number) and the space above it."""


def write_report_pdf(report: SessionReport, path: str | os.PathLike) -> None:
    """Write ``report`` to ``path`` as an A4 PDF (one page where it fits); OSError when the file cannot be written.
    Each page's foot names the patient, the session and the page of how many: the report is laid out once into
    memory to count them, then written."""
    _application()
    memory = QBuffer()  # held here: the writer does not keep its device alive
    memory.open(QIODevice.OpenModeFlag.WriteOnly)
    pages = _render(report, QPdfWriter(memory), None)
    try:  # created readable by its owner only (0600): the report names the patient and their birth date
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
    except OSError as exc:
        raise OSError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    _render(report, QPdfWriter(str(path)), pages, path)


def _render(report: SessionReport, writer: QPdfWriter, pages: int | None, path: str | os.PathLike = "memory") -> int:
    """Lay the report out on ``writer``; returns the number of pages. Raises OSError when it cannot be written."""
    writer.setResolution(RESOLUTION_DPI)
    writer.setTitle(f"{TITLE} {report.session.session_id}")
    writer.setCreator("ITB programmer")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                                     QPageLayout.Unit.Millimeter))
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write the report to {path}")
    try:
        return _Page(painter, writer, report, pages).draw()
    finally:
        painter.end()


_started: list[QApplication] = []
"""The offscreen application ``_application`` started, kept for the life of the process."""


def _application() -> None:
    """Fonts need an application: the running one, else an offscreen one (no display is needed). A QApplication,
    not only a QGuiApplication, so that a process that goes on to show widgets (a test run) can."""
    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _started.append(QApplication(["pump-programmer"]))


class _Page:
    """The page being drawn, top to bottom: ``y`` is where the next block goes, in device units, above the foot."""

    def __init__(self, painter: QPainter, writer: QPdfWriter, report: SessionReport, pages: int | None):
        self.painter = painter
        self.writer = writer
        self.report = report
        self.pages = pages
        self.page = 1
        self.mm = writer.resolution() / 25.4
        self.pt = writer.resolution() / 72
        area = writer.pageLayout().paintRectPixels(writer.resolution())
        self.width = float(area.width())
        self.page_height = float(area.height())
        self.height = self.page_height - FOOT_MM * self.mm
        self.y = 0.0

    # --- the report, block by block ------------------------------------------------------------------

    def draw(self) -> int:
        """Draw the report; returns the number of pages."""
        report = self.report
        self._header(report)
        self._facts(report)
        self._program(report)
        self._plots(report)
        self._refill_by(report)
        self._tables(report)
        self._anchor_and_signature(report)
        self._foot()
        return self.page

    def _foot(self) -> None:
        """The page's foot: whose report, which session, which page."""
        patient = self.report.patient
        who = "no patient recorded" if patient is None else f"{_name(patient.name)} ({patient.identifier})"
        of = "" if self.pages is None else f" of {self.pages}"
        self._font(SMALL_PT)
        box = QRectF(0, self.page_height - self._line_height(), self.width, self._line_height())
        self.painter.drawText(box, Qt.AlignmentFlag.AlignLeft,
                              f"{who} | session {self.report.session.session_id}")
        self.painter.drawText(box, Qt.AlignmentFlag.AlignRight, f"page {self.page}{of}")

    def _header(self, report: SessionReport) -> None:
        self._font(TITLE_PT, bold=True)
        height = self._line_height()
        self.painter.drawText(QRectF(0, self.y, self.width, height), Qt.AlignmentFlag.AlignLeft, TITLE)
        self._font(BODY_PT)
        made = f"Made {moment(report.made_at.astimezone())}"
        self.painter.drawText(QRectF(0, self.y, self.width, height),
                              Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, made)
        self.y += height + 1 * self.mm
        self._rule()

    def _facts(self, report: SessionReport) -> None:
        session, patient = report.session, report.patient
        ended = NOT_APPLICABLE if session.ended_at is None else moment(session.ended_at.astimezone())
        left = [
            ("Patient", NOT_APPLICABLE if patient is None else _name(patient.name)),
            ("Identifier", NOT_APPLICABLE if patient is None else patient.identifier),
            ("Born", NOT_APPLICABLE if patient is None else patient.birth_date.isoformat()),
            ("Pump", f"{report.pump_model or NOT_APPLICABLE}, serial {report.pump_serial or NOT_APPLICABLE}"),
            ("Catheter", NOT_APPLICABLE if patient is None or patient.catheter_cm is None
             else quantity(patient.catheter_cm, "cm")),
        ]
        library = report.library
        right = [
            ("Drug", NOT_APPLICABLE if report.drug is None else
             f"{report.drug.name} {number(report.drug.concentration_per_ml)} {report.drug.dose_unit}/mL"),
            ("Drug library", NOT_APPLICABLE if library is None else
             f"{library.get('name')} {library.get('version')}, approved {library.get('approved') or NOT_APPLICABLE}"
             f" by {library.get('signer') or NOT_APPLICABLE}"),
            ("User", f"{session.display_name} ({session.role}, {session.username})"),
            ("Session", f"{moment(session.started_at.astimezone())} to {ended}"),
            ("Session id", session.session_id),
            ("Workstation", session.workstation),
        ]
        self.y += 1 * self.mm
        top = self.y
        self.y = max(self._pairs(left, 0, self.width * 0.42, top), self._pairs(right, self.width * 0.45,
                                                                               self.width * 0.55, top))
        self.y += 1 * self.mm
        self._rule()

    def _pairs(self, pairs: Sequence[tuple[str, str]], left: float, width: float, top: float) -> float:
        label_width = 22 * self.mm
        y = top
        for label, value in pairs:
            self._font(BODY_PT, bold=True)
            self.painter.drawText(QRectF(left, y, label_width, self._line_height()), Qt.AlignmentFlag.AlignLeft, label)
            self._font(BODY_PT)
            y += self._text(value, left + label_width, y, width - label_width)
        return y

    def _program(self, report: SessionReport) -> None:
        before, after = report.program_before, report.program_after
        self._heading("Program")
        change = ""
        if before is not None and after is not None and before.drug.dose_unit == after.drug.dose_unit:
            percent = percent_change(mean_daily_dose(before), mean_daily_dose(after))
            change = "" if percent is None or before == after else f" (change {percent:+.1f} %)"
        drugs = before is not None and after is not None and before.drug != after.drug
        if before == after:
            words = f"Unchanged at this visit: {_program_words(after)}."
        else:
            words = (f"Before: {_program_words(before, drugs)}.  After: {_program_words(after, drugs)}{change}.")
        self._font(BODY_PT)
        self.y += self._text(words, 0, self.y, self.width)

    def _plots(self, report: SessionReport) -> None:
        before, after = report.plan(report.program_before), report.plan(report.program_after)
        height = 52 * self.mm
        gap = 6 * self.mm
        width = (self.width - gap) / 2
        self._space(height + 6 * self.mm)
        self.y += 1.5 * self.mm
        self._legend(report)
        top = self.y
        if report.program_after is None and report.program_before is None:
            self._font(BODY_PT)
            self._text("No program was recorded at this visit: nothing to plot.", 0, top, self.width)
        else:
            self._rate_plot(report, QRectF(0, top, width, height))
            self._reservoir_plot(report, before, after, QRectF(width + gap, top, width, height))
        self.y = top + height + 1 * self.mm

    def _legend(self, report: SessionReport) -> None:
        self._font(SMALL_PT)
        height = self._line_height()
        x = 0.0
        items = [(PROPOSED_LINE, Qt.PenStyle.SolidLine, "after this visit"),
                 (CURRENT_LINE, Qt.PenStyle.DashLine, "before this visit (from the same reservoir)")]
        if report.program_before is None or report.program_before == report.program_after:
            items = items[:1]
        for colour, style, label in items:
            self.painter.setPen(self._pen(colour, 1.6 if style == Qt.PenStyle.SolidLine else 1.2, style))
            self.painter.drawLine(QPointF(x, self.y + height / 2), QPointF(x + 8 * self.mm, self.y + height / 2))
            self.painter.setPen(QColor(PLOT_TEXT))
            box = QRectF(x + 9.5 * self.mm, self.y, 60 * self.mm, height)
            self.painter.drawText(box, Qt.AlignmentFlag.AlignLeft, label)
            x += 12 * self.mm + self.painter.fontMetrics().horizontalAdvance(label)
        self.y += height + 0.5 * self.mm

    def _refill_by(self, report: SessionReport) -> None:
        self._font(HEADING_PT, bold=True)
        due = report.refill_by
        if due is None:
            self.y += self._text("Refill by: not known", 0, self.y, self.width)
            why = ("The pump's low-alarm threshold is not recorded in this session's records."
                   if report.low_alarm_ml is None and report.reservoir is not None
                   else "No reservoir reading in this session's records, or a program that delivers nothing.")
        else:
            self.y += self._text(f"Refill by {moment(due.at)} ({PUMP_CLOCK})", 0, self.y, self.width)
            why = f"Set by {REASON_WORDS[due.reason]}."
        if report.reservoir is not None and report.reservoir_at is not None:
            why += (f" Projected from {quantity(report.reservoir.volume_ml, 'mL')} in the "
                    f"{quantity(report.reservoir.capacity_ml, 'mL')} reservoir at {moment(report.reservoir_at)} "
                    f"({PUMP_CLOCK}), low alarm {_threshold(report)}, by the program after this visit.")
        self._font(SMALL_PT)
        self.y += self._text(why, 0, self.y, self.width)

    def _tables(self, report: SessionReport) -> None:
        unit = "" if report.drug is None else report.drug.dose_unit
        self._heading("What was done")
        self._table(["Time", "Action", "What", "Outcome"], [0.1, 0.1, 0.4, 0.4],
                    [[_clock(line.time), line.action, line.summary, f"{line.outcome}: {line.message}"
                      if line.message else line.outcome] for line in report.actions] or [["", "nothing", "", ""]])
        if report.refills:
            self._heading("Refills")
            self._table(["Time", "Withdrawn", "Pump calculated", "Discrepancy (tolerance)", "Added",
                         "Reservoir after", "Syringe", "Outcome"], [0.08, 0.1, 0.1, 0.15, 0.07, 0.1, 0.3, 0.1],
                        [[_clock(line.time), quantity(line.withdrawn_ml, "mL"), quantity(line.calculated_ml, "mL"),
                          f"{ml_words(line.discrepancy_ml)} mL (\u00b1{ml_words(line.tolerance_ml)} mL"
                          f"{'' if line.within_tolerance else ', BEYOND'})",
                          quantity(line.added_ml, "mL") if line.outcome == "verified" else
                          f"{quantity(line.added_ml, 'mL')} asked, not added", quantity(line.volume_ml, "mL"),
                          _syringe(line), _outcome(line.outcome)] for line in report.refills])
        if report.boluses:
            self._heading("Boluses")
            self._table(["Time", "Kind", "Dose", "Volume", "Duration", "Outcome"],
                        [0.1, 0.12, 0.3, 0.12, 0.12, 0.24],
                        [[_clock(line.time), line.kind, line.dose_words(unit),
                          quantity(line.volume_ml, "mL"), quantity(line.duration_min, "min"), _outcome(line.outcome)]
                         for line in report.boluses])
        if report.findings:
            self._heading("Warnings and errors, with the reasons given to go on")
            self._table(["Time", "Check", "What it said", "Override reason"], [0.08, 0.34, 0.4, 0.18],
                        [[_clock(line.time), f"{line.code}\n({line.severity}, {line.action})", line.message,
                          line.override_reason or NOT_APPLICABLE] for line in report.findings])

    def _anchor_and_signature(self, report: SessionReport) -> None:
        anchor = report.anchor
        self._font(SMALL_PT)
        state = "intact" if anchor.intact else "NOT INTACT: see audit verify"
        words = (f"Audit trail when this report was made: {anchor.records} records, {state}; the hash of its last "
                 "record (the chain's head), which the trail must still lead to:")
        height = self._text_height(words, self.width)
        self._space(height + 26 * self.mm)
        self.y += 2 * self.mm
        self._rule()
        self._font(SMALL_PT)
        self.y += self._text(words, 0, self.y, self.width)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setStyleStrategy(QFont.StyleStrategy.PreferNoShaping)
        mono.setPointSizeF(SMALL_PT)
        self.painter.setFont(mono)
        self.y += self._text(anchor.head_hash, 0, self.y, self.width) + 12 * self.mm
        self.painter.setPen(self._pen(PLOT_TEXT, 0.8))
        line_y = self.y
        self.painter.drawLine(QPointF(0, line_y), QPointF(self.width * 0.45, line_y))
        self.painter.drawLine(QPointF(self.width * 0.6, line_y), QPointF(self.width, line_y))
        self._font(BODY_PT)
        self.y += 0.8 * self.mm
        self._text(f"Signature: {report.session.display_name} ({report.session.role})", 0, self.y, self.width * 0.45)
        self._text("Date", self.width * 0.6, self.y, self.width * 0.4)

    # --- plots ---------------------------------------------------------------------------------------

    def _rate_plot(self, report: SessionReport, box: QRectF) -> None:
        programs = [(program, colour, style) for program, colour, style in (
            (report.program_before, CURRENT_LINE, Qt.PenStyle.DashLine),
            (report.program_after, PROPOSED_LINE, Qt.PenStyle.SolidLine)) if program is not None]
        if report.program_before == report.program_after:
            programs = programs[-1:]
        plans = [(_cycle_plan(program), colour, style) for program, colour, style in programs]
        span = max(plan.cycle_min for plan, _, _ in plans)
        unit = plans[-1][0].program.drug.dose_unit
        series = [(rate_series(plan, span), colour, style) for plan, colour, style in plans]
        top = rate_axis_top(max((max(s.rates, default=0.0) for s, _, _ in series), default=0.0))
        hours = span / 60
        step = 4 if hours <= 24 else 24
        x_ticks = [(float(h), f"{h:g}") for h in range(0, int(hours) + 1, step)]
        _, values = value_ticks(0, top, top / 5)
        inner = self._frame(box, f"Dose rate over the cycle ({unit}/h)", "hours from day 1 00:00",
                            x_ticks, 0, hours, [(v, number(v)) for v in values], 0, top)
        for rates, colour, style in series:
            path = QPainterPath()
            for index, rate in enumerate(rates.rates):
                left, right = rates.hours[index], rates.hours[index + 1]
                point = self._at(inner, left, rate, 0, hours, 0, top)
                if index == 0:
                    path.moveTo(point)
                else:
                    path.lineTo(point)
                path.lineTo(self._at(inner, right, rate, 0, hours, 0, top))
            self._stroke(path, colour, style)

    def _reservoir_plot(self, report: SessionReport, before: Plan | None, after: Plan | None, box: QRectF) -> None:
        reservoir = report.reservoir
        if reservoir is None or after is None:
            self._frame(box, "Reservoir (mL)", "date (pump clock)", [], 0, 1, [], 0, 1)
            self._font(SMALL_PT)
            self.painter.setPen(QColor(PLOT_TEXT))
            self.painter.drawText(box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                                  "No reservoir reading\nin this session's records")
            return
        days = _horizon_days(before, after)
        shown = [(plan, colour, style) for plan, colour, style in ((before, CURRENT_LINE, Qt.PenStyle.DashLine),
                                                                  (after, PROPOSED_LINE, Qt.PenStyle.SolidLine))
                 if plan is not None]
        if report.program_before == report.program_after:
            shown = shown[-1:]
        series = [(reservoir_series(plan, days), colour, style) for plan, colour, style in shown]
        first = posix(after.start)
        last = first + days * 86400
        self._font(SMALL_PT)
        label = self.painter.fontMetrics().horizontalAdvance(from_posix(last).strftime(tick_format(first, last)))
        ticks = date_ticks(first, last, 1.4 * label / (box.width() * 0.85) * (last - first))
        fmt = tick_format(first, last)
        _, values = value_ticks(0, reservoir.capacity_ml, reservoir.capacity_ml / 5)
        inner = self._frame(box, "Reservoir (mL)", "date (pump clock)",
                            [(t, from_posix(t).strftime(fmt)) for t in ticks], first, last,
                            [(v, number(v)) for v in values], 0, reservoir.capacity_ml)
        low = self._at(inner, first, reservoir.low_alarm_ml, first, last, 0, reservoir.capacity_ml).y()
        if report.low_alarm_ml is not None:
            self.painter.setPen(self._pen(THRESHOLD_LINE, 1.0, Qt.PenStyle.DotLine))
            self.painter.drawLine(QPointF(inner.left(), low), QPointF(inner.right(), low))
        self.painter.setPen(QColor(THRESHOLD_TEXT))
        self._font(SMALL_PT)
        text_height = self._line_height()
        self.painter.drawText(QRectF(inner.left() + 1 * self.mm, low - text_height, inner.width(), text_height),
                              Qt.AlignmentFlag.AlignLeft, f"low alarm {_threshold(report)}")
        for volumes, colour, style in series:
            path = QPainterPath()
            for index, (time, volume) in enumerate(zip(volumes.times, volumes.volumes)):
                point = self._at(inner, time, volume, first, last, 0, reservoir.capacity_ml)
                if index == 0:
                    path.moveTo(point)
                else:
                    path.lineTo(point)
            self._stroke(path, colour, style)
        if report.refill_by is not None and first <= posix(report.refill_by.at) <= last:
            x = self._at(inner, posix(report.refill_by.at), 0, first, last, 0, 1).x()
            self.painter.setPen(self._pen(REFILL_BY_LINE, 1.0, Qt.PenStyle.DashDotLine))
            self.painter.drawLine(QPointF(x, inner.top()), QPointF(x, inner.bottom()))
            self.painter.setPen(QColor(REFILL_BY_LINE))
            words = f"refill by {report.refill_by.at.strftime('%d %b')}"
            width = self.painter.fontMetrics().horizontalAdvance(words) * 1.05
            right = x + 1 * self.mm + width <= inner.right()
            place = QRectF(x + 1 * self.mm if right else x - 1 * self.mm - width, inner.top() + 0.5 * self.mm,
                           width, text_height)
            self.painter.drawText(place, Qt.AlignmentFlag.AlignLeft, words)

    def _frame(self, box: QRectF, title: str, bottom: str, x_ticks: Sequence[tuple[float, str]], x0: float,
               x1: float, y_ticks: Sequence[tuple[float, str]], y0: float, y1: float) -> QRectF:
        """The plot's title, axes, grid and tick labels; returns the area the data is drawn in."""
        painter = self.painter
        self._font(SMALL_PT)
        line = self._line_height()
        label_width = max((painter.fontMetrics().horizontalAdvance(text) for _, text in y_ticks), default=0)
        inner = QRectF(box.left() + label_width + 1.5 * self.mm, box.top() + 1.5 * line + 1 * self.mm,
                       box.width() - label_width - 3 * self.mm, box.height() - 3.5 * line - 2.5 * self.mm)
        self._font(BODY_PT, bold=True)
        painter.setPen(QColor(PLOT_TEXT))
        painter.drawText(QRectF(box.left(), box.top(), box.width(), line * 1.2), Qt.AlignmentFlag.AlignLeft, title)
        self._font(SMALL_PT)
        for value, text in y_ticks:
            y = self._at(inner, x0, value, x0, x1, y0, y1).y()
            painter.setPen(self._pen(GRID_LINE, 0.5))
            painter.drawLine(QPointF(inner.left(), y), QPointF(inner.right(), y))
            painter.setPen(QColor(PLOT_TEXT))
            painter.drawText(QRectF(box.left(), y - line / 2, label_width, line), Qt.AlignmentFlag.AlignRight, text)
        for value, text in x_ticks:
            x = self._at(inner, value, y0, x0, x1, y0, y1).x()
            painter.setPen(self._pen(GRID_LINE, 0.5))
            painter.drawLine(QPointF(x, inner.top()), QPointF(x, inner.bottom()))
            painter.setPen(QColor(PLOT_TEXT))
            width = painter.fontMetrics().horizontalAdvance(text) + 2 * self.pt
            left = min(max(x - width / 2, inner.left()), inner.right() - width)  # clear of the value labels
            painter.drawText(QRectF(left, inner.bottom() + 0.5 * self.mm, width, line),
                             Qt.AlignmentFlag.AlignHCenter, text)
        painter.drawText(QRectF(inner.left(), inner.bottom() + line + 0.7 * self.mm, inner.width(), line),
                         Qt.AlignmentFlag.AlignHCenter, bottom)
        painter.setPen(self._pen(PLOT_TEXT, 0.7))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(inner)
        return inner

    @staticmethod
    def _at(inner: QRectF, x: float, y: float, x0: float, x1: float, y0: float, y1: float) -> QPointF:
        return QPointF(inner.left() + (x - x0) / (x1 - x0) * inner.width(),
                       inner.bottom() - (y - y0) / (y1 - y0) * inner.height())

    def _stroke(self, path: QPainterPath, colour: str, style: Qt.PenStyle) -> None:
        self.painter.setBrush(Qt.BrushStyle.NoBrush)
        self.painter.setPen(self._pen(colour, 1.6 if style == Qt.PenStyle.SolidLine else 1.2, style))
        self.painter.drawPath(path)

    # --- text and tables -----------------------------------------------------------------------------

    def _table(self, headers: list[str], fractions: list[float], rows: list[list[str]]) -> None:
        widths = [fraction * self.width for fraction in fractions]
        pad = 0.8 * self.mm

        def row_height(cells: list[str], bold: bool) -> float:
            self._font(SMALL_PT, bold=bold)
            return max(self._text_height(cell, width - 2 * pad) for cell, width in zip(cells, widths)) + 2 * pad

        def draw_row(cells: list[str], bold: bool, height: float) -> None:
            x = 0.0
            if bold:
                self.painter.fillRect(QRectF(0, self.y, self.width, height), QColor(HEADER_FILL))
            self._font(SMALL_PT, bold=bold)
            for cell, width in zip(cells, widths):
                self._text(cell, x + pad, self.y + pad, width - 2 * pad)
                x += width
            self.painter.setPen(self._pen(RULE, 0.4))
            self.painter.drawLine(QPointF(0, self.y + height), QPointF(self.width, self.y + height))
            self.y += height

        header_height = row_height(headers, True)
        for index, cells in enumerate(rows):
            height = row_height(cells, False)
            if index == 0 or self.y + height > self.height:
                if self._space(header_height + height) or index == 0:
                    draw_row(headers, True, header_height)
            draw_row(cells, False, height)
        self.y += 1 * self.mm

    def _heading(self, words: str) -> None:
        self._font(HEADING_PT, bold=True)
        height = self._text_height(words, self.width)
        self._space(height + 8 * self.mm)  # a heading is never left alone at the foot of a page
        self.y += 1.5 * self.mm
        self.y += self._text(words, 0, self.y, self.width) + 0.5 * self.mm

    def _space(self, height: float) -> bool:
        """Start a new page when ``height`` does not fit under ``y``; True when a page was started."""
        if self.y + height <= self.height:
            return False
        self._foot()
        self.writer.newPage()
        self.page += 1
        self.y = 0.0
        return True

    def _font(self, points: float, bold: bool = False) -> None:
        font = QFont()
        # no ligatures ("fi" stays two letters in a search), but shaping kept: Arabic letters join as they must
        for tag in LIGATURES:
            font.setFeature(QFont.Tag(tag), 0)
        font.setPointSizeF(points)
        font.setBold(bold)
        self.painter.setFont(font)
        self.painter.setPen(QColor(PLOT_TEXT))

    def _line_height(self) -> float:
        return float(self.painter.fontMetrics().height())

    def _text_height(self, text: str, width: float) -> float:
        return self.painter.boundingRect(QRectF(0, 0, width, 1e6), text, WRAP).height()

    def _text(self, text: str, x: float, y: float, width: float) -> float:
        """Draw ``text`` wrapped to ``width`` at (x, y); returns its height. Words wrap at their boundaries; a word
        longer than the width (a check's code in a narrow column) is broken, never cut short."""
        box = self.painter.boundingRect(QRectF(x, y, width, 1e6), text, WRAP)
        self.painter.drawText(QRectF(x, y, width, box.height()), text, WRAP)
        return box.height()

    def _rule(self) -> None:
        self.painter.setPen(self._pen(RULE, 0.6))
        self.painter.drawLine(QPointF(0, self.y), QPointF(self.width, self.y))
        self.y += 1 * self.mm

    def _pen(self, colour: str, points: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
        pen = QPen(QColor(colour), points * self.pt)
        pen.setStyle(style)
        return pen


def _program_words(program: Program | None, with_drug: bool = False) -> str:
    """The program in words; ``with_drug``: its drug and concentration too (a refill that changed them)."""
    if program is None:
        return "none (no drug, or not recorded)"
    drug = program.drug
    unit = drug.dose_unit
    therapy = program.therapy
    named = f" ({drug.name} {number(drug.concentration_per_ml)} {unit}/mL)" if with_drug else ""
    if isinstance(therapy, SimpleContinuous):
        return f"{number(therapy.daily_dose)} {unit}/day, simple continuous{named}"
    if isinstance(therapy, Flex):
        return (f"{number(mean_daily_dose(program))} {unit}/day on average, flex: {len(therapy.steps)} steps over "
                f"{therapy.cycle_days} day(s){named}")
    return f"stopped (nothing delivered; the pump holds {drug.name} {number(drug.concentration_per_ml)} {unit}/mL)"


def _cycle_plan(program: Program) -> Plan:
    """A plan that is only read for its cycle (the rate plot): any reservoir and start do."""
    return Plan(program, Reservoir(capacity_ml=1.0, volume_ml=0.0, low_alarm_ml=0.0), datetime(2000, 1, 3))


def _horizon_days(*plans: Plan | None) -> float:
    alarms = [plan.minutes_to_low_alarm for plan in plans if plan is not None and plan.minutes_to_low_alarm]
    if not alarms:
        return DEFAULT_HORIZON_DAYS
    days = max(alarms) / 1440 + 7
    low, high = HORIZON_LIMITS_DAYS
    return float(min(max(math.ceil(days), low), high))


def _threshold(report: SessionReport) -> str:
    """The pump's low-alarm threshold as the records say (``at 2 mL``), or that they do not."""
    return "not recorded" if report.low_alarm_ml is None else f"at {quantity(report.low_alarm_ml, 'mL')}"


def _name(name: str) -> str:
    """The patient's name as recorded; any character no font on this computer can draw (Qt falls back through
    fontconfig to every installed font: a CJK name needs e.g. Debian's fonts-noto-cjk) is named after it by its code
    point, so the chart never shows a name with a character silently missing."""
    missing = [char for char in dict.fromkeys(name) if not char.isspace() and not _drawable(char)]
    if not missing:
        return name
    return f"{name} [no font here for {', '.join(f'U+{ord(char):04X}' for char in missing)}]"


def _drawable(char: str) -> bool:
    return any(QFontMetricsF(QFont(family)).inFontUcs4(ord(char)) for family in _families())


_FAMILIES: list[str] = []


def _families() -> list[str]:
    if not _FAMILIES:
        _FAMILIES.extend(QFontDatabase.families())
    return _FAMILIES


def _outcome(outcome: str) -> str:
    """An outcome as the tables show it: anything but verified says that it was not done as asked."""
    return outcome if outcome == "verified" else f"{outcome}: not done"


def _clock(time: datetime) -> str:
    return time.astimezone().strftime("%H:%M:%S")


def _syringe(line: RefillLine) -> str:
    if line.drug is None:
        return NOT_APPLICABLE
    drug = line.drug
    words = f"{drug.name} {number(drug.concentration_per_ml)} {drug.dose_unit}/mL, lot {line.lot}, exp. {line.expiry}"
    return words if line.withdrawal_reason is None else f"{words}; went on because: {line.withdrawal_reason}"

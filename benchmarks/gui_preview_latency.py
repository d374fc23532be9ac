"""Preview latency: from a changed dose field to the repainted plots, for a 13-step flex program and a 90-day
reservoir projection (the editor re-validates, re-checks against the drug library and the pump, and the
preview recomputes and re-draws both plots). Target (issue 11): one 60 Hz frame, a median under 16 ms and a
95th percentile under 25 ms, measured to the paint.

Each edit types a new dose into one step (the values cycle over the 13 steps, every edit changes the plots),
then the event loop runs, as it would after a keystroke, until both plots' viewports have been painted: a
paint event filter on the viewports sees the paint, and the clock stops when the event loop has finished
it (the window's repaint of everything the edit made dirty is one pass). Two times are printed, each on the
wall clock and in the GUI thread's CPU time: until every plot item holds its new data (``setData`` done) and
until the window has repainted. The edit sets the cell's text, so the editor also shows its verdict at once
(typing would leave that to the pause after the last keystroke): a little more work than a keystroke.

    python3 benchmarks/gui_preview_latency.py [--edits N] [--profile]

``--profile`` runs the same edits under cProfile and prints the costliest functions instead. On a shared
machine, compare with another checkout in the same minutes, this script run on that checkout's code:
``PYTHONPATH=/path/to/checkout python3 benchmarks/gui_preview_latency.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget  # noqa: E402

from programmer.library import load_library  # noqa: E402
from programmer.port import ActiveProgram, PumpIdentity, PumpStatus  # noqa: E402
from programmer.program import program_from_data  # noqa: E402
from programmer.snapshot import PumpSnapshot  # noqa: E402
from ui.editor import DOSE, ProgramEditor  # noqa: E402
from ui.preview import PreviewPlots  # noqa: E402

MEDIAN_TARGET_MS = 16.0
P95_TARGET_MS = 25.0
DOSES = tuple(6 + index * 0.25 for index in range(7))
"""The doses typed, in mcg/h, all within the drug library's limits for this program."""
PAINT_TIMEOUT_S = 5.0


def thirteen_step_snapshot() -> PumpSnapshot:
    steps = [{"day": 1, "start": f"{hour:02d}:00", "dose_per_hour": 6.0 + (hour % 3) * 0.5}
             for hour in range(0, 24, 2)][:12] + [{"day": 1, "start": "23:00", "dose_per_hour": 6.0}]
    program = program_from_data({"format": "itb-program/1",
                                 "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 2000},
                                 "therapy": {"mode": "flex", "cycle_days": 1, "steps": steps}})
    now = datetime(2026, 3, 2, 9, 30)
    identity = PumpIdentity("ITB-20", "BENCH-1", "emu-1.0", 20.0, 0.048, 24.0, 13, 7, 256)
    status = PumpStatus(now, "ok", 80.0, 18.0, 2.0, 20.0, (), program.checksum(), 570.0)
    active = ActiveProgram(program.drug, program.therapy.model_dump(mode="json"), program.checksum(), program)
    return PumpSnapshot(identity, status, active, now)


@dataclass(frozen=True)
class Timing:
    """One edit's milliseconds, on the wall clock and in the GUI thread's CPU time (what other programs on a
    shared machine do not add to)."""

    set_data: float
    painted: float
    set_data_cpu: float
    painted_cpu: float


class PaintWatch(QObject):
    """Notes which of the watched widgets have received a paint event since ``reset``."""

    def __init__(self, widgets: list[QWidget]):
        super().__init__()
        self.widgets = widgets
        self.painted: set[int] = set()
        for widget in widgets:
            widget.installEventFilter(self)

    def reset(self) -> None:
        self.painted.clear()

    def all_painted(self) -> bool:
        return len(self.painted) == len(self.widgets)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted.add(id(watched))
        return False


class Bench:
    """The editor and the preview side by side in one window, as on the Program page."""

    def __init__(self) -> None:
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.window = QWidget()
        layout = QHBoxLayout(self.window)
        self.editor, self.plots = ProgramEditor(load_library()), PreviewPlots(horizon_days=90)
        layout.addWidget(self.editor)
        layout.addWidget(self.plots, 1)
        self.editor.evaluated.connect(self._preview)
        self.editor.set_snapshot(thirteen_step_snapshot())
        self.window.resize(1400, 900)
        self.window.show()
        self.watch = PaintWatch([self.plots.rate_plot.viewport(), self.plots.volume_plot.viewport()])
        self.app.processEvents()
        assert self.editor.table.rowCount() == 13 and self.editor.evaluation.can_review
        self.set_data_at = self.set_data_cpu = 0.0

    def _preview(self, evaluation) -> None:
        self.plots.show_plans(evaluation.review.current_plan, evaluation.review.plan)
        self.set_data_at, self.set_data_cpu = time.perf_counter(), time.thread_time()

    def edit(self, number: int) -> Timing:
        """Type the ``number``th edit's dose and wait for the repainted plots."""
        row = number % 13
        cell = self.editor.table.item(row, DOSE)
        dose = DOSES[(number // 13 + row) % len(DOSES)]
        if cell.text() == f"{dose:g}":
            dose = DOSES[(DOSES.index(dose) + 1) % len(DOSES)]
        self.watch.reset()
        started, started_cpu = time.perf_counter(), time.thread_time()
        cell.setText(f"{dose:g}")
        deadline = started + PAINT_TIMEOUT_S
        while not self.watch.all_painted():
            self.app.processEvents()
            if time.perf_counter() > deadline:
                raise RuntimeError(f"edit {number}: the plots were not repainted within {PAINT_TIMEOUT_S:g} s")
        painted, painted_cpu = time.perf_counter(), time.thread_time()
        return Timing((self.set_data_at - started) * 1000, (painted - started) * 1000,
                      (self.set_data_cpu - started_cpu) * 1000, (painted_cpu - started_cpu) * 1000)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="profile the edits and print the costliest calls")
    args = parser.parse_args()
    bench = Bench()
    for number in range(20):  # warm up: first paints, caches, lazily built items
        bench.edit(number)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [bench.edit(number) for number in range(args.edits)])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    timings = [bench.edit(number) for number in range(args.edits)]
    points = len(bench.plots.volume_items["proposed"].getData()[0])
    bench.window.close()
    print(f"13-step flex program, 90-day projection ({points} reservoir points), {args.edits} edits")
    for clock, suffix in (("wall clock", ""), ("GUI thread CPU time", "_cpu")):
        updated = [getattr(timing, "set_data" + suffix) for timing in timings]
        painted = [getattr(timing, "painted" + suffix) for timing in timings]
        median, p95 = statistics.median(painted), percentile(painted, 0.95)
        print(f"{clock}:")
        print(f"  dose field -> plots updated (setData): median {statistics.median(updated):.2f} ms, "
              f"95th percentile {percentile(updated, 0.95):.2f} ms")
        print(f"  dose field -> plots painted: median {median:.2f} ms (target {MEDIAN_TARGET_MS:g} ms, ratio "
              f"{median / MEDIAN_TARGET_MS:.2f}, {_verdict(median, MEDIAN_TARGET_MS)}); 95th percentile {p95:.2f} ms "
              f"(target {P95_TARGET_MS:g} ms, ratio {p95 / P95_TARGET_MS:.2f}, {_verdict(p95, P95_TARGET_MS)}); "
              f"max {max(painted):.2f} ms")


def _verdict(value: float, target: float) -> str:
    return "met" if value < target else "NOT met"

if __name__ == "__main__":
    main()

"""Preview latency: from a changed dose field to updated plots, for a 13-step flex program and a 90-day
reservoir projection (the editor re-validates, re-checks against the drug library and the pump, and the
preview recomputes and re-draws both plots). Target: well under 50 ms.

Two times are printed: until every plot item holds its new data (``setData`` done), and until the window
has also repainted. The ratio to the 50 ms budget is printed so the result reads the same on any machine.

    python3 benchmarks/gui_preview_latency.py [--edits N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget  # noqa: E402

from programmer.snapshot import PumpSnapshot  # noqa: E402
from programmer.library import load_library  # noqa: E402
from programmer.port import ActiveProgram, PumpIdentity, PumpStatus  # noqa: E402
from programmer.program import program_from_data  # noqa: E402
from ui.editor import DOSE, ProgramEditor  # noqa: E402
from ui.preview import PreviewPlots  # noqa: E402

BUDGET_MS = 50.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QWidget()
    layout = QHBoxLayout(window)
    editor, plots = ProgramEditor(load_library()), PreviewPlots(horizon_days=90)
    layout.addWidget(editor)
    layout.addWidget(plots, 1)
    editor.evaluated.connect(lambda ev: plots.show_plans(ev.review.current_plan, ev.review.plan))
    editor.set_snapshot(thirteen_step_snapshot())
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    assert editor.table.rowCount() == 13 and editor.evaluation.can_review

    updated, painted = [], []
    for edit in range(args.edits):
        cell = editor.table.item(edit % 13, DOSE)
        started = time.perf_counter()
        cell.setText(f"{6 + (edit % 7) * 0.25:g}")
        updated.append(time.perf_counter() - started)
        window.repaint()
        app.processEvents()
        painted.append(time.perf_counter() - started)
    points = len(plots.volume_items["proposed"].getData()[0])
    window.close()
    up, paint = statistics.median(updated) * 1000, statistics.median(painted) * 1000
    print(f"13-step flex program, 90-day projection ({points} reservoir points), {args.edits} edits")
    print(f"dose field -> plots updated: median {up:.2f} ms, max {max(updated) * 1000:.2f} ms; "
          f"ratio to {BUDGET_MS:g} ms budget: {up / BUDGET_MS:.3f}")
    print(f"dose field -> window repainted: median {paint:.2f} ms; ratio to budget: {paint / BUDGET_MS:.3f}")


if __name__ == "__main__":
    main()

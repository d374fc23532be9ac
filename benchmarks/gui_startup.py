"""Start-up of the clinician application against a bare PySide6 window holding one pyqtgraph plot.

Each start is a fresh Python process timed from launch to the window shown (the first turn of the event
loop after ``show()``), so imports count as they do for a clinician. Both are measured alternately in the
same run and the ratio of the medians is printed, which holds on a noisy machine. Target: under 1.5.

    python3 benchmarks/gui_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE = """
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import pyqtgraph as pg
app = QApplication([])
window = pg.PlotWidget()
window.plot([0, 1, 2], [0, 1, 0])
window.show()
QTimer.singleShot(0, lambda: (print("shown", flush=True), app.quit()))
app.exec()
"""

APPLICATION = """
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from ui.app import create_window
window = create_window()
QTimer.singleShot(0, lambda: (print("shown", flush=True), app.quit()))
app.exec()
window.close()
"""


def time_start(code: str, env: dict) -> float:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.wait(timeout=60)
    process.stdout.close()
    if line.strip() != b"shown":
        raise SystemExit(f"the window did not show (exit code {process.returncode})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                   ITB_AUDIT_LOG=os.path.join(tmp, "audit.jsonl"))
        time_start(BARE, env)  # warm the file cache for both
        time_start(APPLICATION, env)
        bare, application = [], []
        for _ in range(args.runs):
            bare.append(time_start(BARE, env))
            application.append(time_start(APPLICATION, env))
    bare_s, app_s = statistics.median(bare), statistics.median(application)
    print(f"bare PySide6 + one pyqtgraph plot: median {bare_s * 1000:.0f} ms over {args.runs} starts")
    print(f"clinician application main window: median {app_s * 1000:.0f} ms over {args.runs} starts")
    print(f"ratio application / bare: {app_s / bare_s:.2f} (target < 1.5)")


if __name__ == "__main__":
    main()

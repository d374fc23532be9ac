"""Start-up of the clinician application against a bare PySide6 window holding one pyqtgraph plot, like for
like: each is timed until its window is shown and its plots are built.

Each start is a fresh Python process timed from launch to the first turn of the event loop at which the
window is shown and holds its plots: for the bare window, the turn after ``show()``; for the application,
the turn at which its Program page's plots are built (``MainWindow.plots_ready``: the window shows first and
builds them a part per turn, so that nothing freezes it). So imports count as they do for a clinician. Both
are measured alternately in the same run and the ratio of the medians is printed, which holds on a noisy
machine. Target: at most 1.2.

Until issue 11 the application was timed to its window shown without plots (they were built at the first
reading), against the bare window with one: not like for like. The second line's meaning changed with it; the
fourth line gives the time to the application's window shown, before its plots (the old second line's).

The clinic's store (issue 14) is opened in the window's clinic thread once it shows, so it is not in the time to the
window with its plots; the last line gives the time to the record opened and the sign-in dialog up, the moment a
clinician can type. The store is a SQLite file in a temporary data directory, made by the untimed first start, as a
workstation's is there at every start but the first.

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
import time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import pyqtgraph as pg
app = QApplication([])
window = pg.PlotWidget()
window.plot([0, 1, 2], [0, 1, 0])
window.show()
def mark(name):
    print(name, time.process_time(), flush=True)

QTimer.singleShot(0, lambda: (mark("shown"), mark("plots"), mark("record"), app.quit()))
app.exec()
"""

APPLICATION = """
import time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from ui.app import create_window
window = create_window()

def mark(name):
    print(name, time.process_time(), flush=True)

def built():
    if window.plots_ready:
        mark("plots")
        opened()
    else:
        QTimer.singleShot(0, built)

def opened():
    if window.visit_controls.sign_in_dialog is not None:
        mark("record")
        app.quit()
    else:
        QTimer.singleShot(1, opened)

QTimer.singleShot(0, lambda: (mark("shown"), built()))
app.exec()
window.close()
"""


def time_start(code: str, env: dict) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Seconds from launch to the window shown, to its plots built and to its clinic record opened (the same moment
    for the bare window): wall-clock time, and the CPU time the process had used by then (all its threads)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert process.stdout is not None
    lines, times, cpu = [], [], []
    for _ in range(3):
        name, _space, used = process.stdout.readline().strip().partition(b" ")
        lines.append(name)
        times.append(time.perf_counter() - started)
        cpu.append(float(used or "nan"))
    process.wait(timeout=60)
    process.stdout.close()
    if lines != [b"shown", b"plots", b"record"]:
        raise SystemExit(f"the window did not show with its plots and record (exit code {process.returncode})")
    return (times[0], times[1], times[2]), (cpu[0], cpu[1], cpu[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # Without PYTHONDONTWRITEBYTECODE (set on some build machines): an installed copy has its bytecode, so
        # the untimed first starts leave it, as cli_startup.py does; otherwise each start compiles our sources.
        env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        env.update(QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                   ITB_AUDIT_LOG=os.path.join(tmp, "audit.jsonl"), XDG_CONFIG_HOME=os.path.join(tmp, "config"),
                   XDG_DATA_HOME=os.path.join(tmp, "data"), XDG_STATE_HOME=os.path.join(tmp, "state"))
        env.pop("ITB_DB", None)  # the default store, in the temporary data directory: never the user's own
        time_start(BARE, env)  # warm the file and bytecode caches for both
        time_start(APPLICATION, env)
        bare, bare_cpu, application, application_cpu = [], [], [], []
        for _ in range(args.runs):
            wall, cpu = time_start(BARE, env)
            bare.append(wall[1])
            bare_cpu.append(cpu[1])
            wall, cpu = time_start(APPLICATION, env)
            application.append(wall)
            application_cpu.append(cpu)
    bare_s, bare_cpu_s = statistics.median(bare), statistics.median(bare_cpu)
    shown_s, app_s, record_s = (statistics.median(times) for times in zip(*application))
    _shown_cpu, app_cpu_s, record_cpu_s = (statistics.median(times) for times in zip(*application_cpu))
    print(f"bare PySide6 + one pyqtgraph plot: median {bare_s * 1000:.0f} ms over {args.runs} starts")
    print(f"clinician application main window with its plots: median {app_s * 1000:.0f} ms over {args.runs} starts")
    print(f"ratio application / bare: {app_s / bare_s:.2f} (target <= 1.2)")
    print(f"the application's window shown, before its plots: median {shown_s * 1000:.0f} ms, "
          f"ratio to bare {shown_s / bare_s:.2f}")
    print(f"the clinic record opened and the sign-in dialog up (in the window's clinic thread): median "
          f"{record_s * 1000:.0f} ms, ratio to bare {record_s / bare_s:.2f}")
    print(f"CPU time used by then (every thread; steadier than the wall clock on a busy machine): bare "
          f"{bare_cpu_s * 1000:.0f} ms, application with its plots {app_cpu_s * 1000:.0f} ms (ratio "
          f"{app_cpu_s / bare_cpu_s:.2f}), with its record {record_cpu_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()

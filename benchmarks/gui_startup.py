"""Start-up of the clinician application against a bare PySide6 window holding one pyqtgraph plot, like for
like: each is timed until its window is shown and its plots are built.

Each start is a fresh Python process timed from launch to the first turn of the event loop at which the
window is shown and holds its plots: for the bare window, the turn after ``show()``; for the application,
the turn at which its Program page's plots are built (``MainWindow.plots_ready``: the window shows first and
builds them a part per turn, so that nothing freezes it). So imports count as they do for a clinician. Both
are measured alternately in the same run and the ratio of the medians is printed, wall-clock and CPU time (the
CPU ratio holds on a busy machine, the wall-clock one less so). Target: at most 1.2.

What the application does after its plots is not in that ratio, so the other lines say when it is done, each as a
ratio to the bare window too: the drug library approved (the window shows locked, saying it is checking the library,
and checks it in a thread of its own once its plots are placed; pydantic and the domain's models are imported there,
not before the window shows); the pages built ahead (those that check doses, a page per turn of the event loop after
the library, with the Review page's plots; Events, Audit, Wire trace and History are built when first shown); the
clinic record opened and the sign-in dialog
up, the moment a clinician can type (the store is opened in the window's clinic thread after the library is
approved). The store is a SQLite file in a temporary data directory, made by the untimed first start, as a
workstation's is there at every start but the first.

Until issue 11 the application was timed to its window shown without plots (they were built at the first
reading), against the bare window with one: not like for like. Until the library moved after the window, the
library was loaded and checked, and every page built, before the window showed.

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
QTimer.singleShot(0, lambda: (print("plots", time.process_time(), flush=True), app.quit()))
app.exec()
"""

APPLICATION = """
import time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from ui.app import create_window
from ui.main_window import LIBRARY_PAGES
window = create_window()
seen = set()

def mark(name, reached):
    if name not in seen and reached:
        seen.add(name)
        print(name, time.process_time(), flush=True)

def watch():
    mark("shown", True)
    mark("plots", window.plots_ready)
    mark("library", window.library is not None)
    mark("pages", all(window.built(name) for name in LIBRARY_PAGES) and window.review.plots is not None)
    mark("record", window.visit_controls.sign_in_dialog is not None)
    if len(seen) == 5:
        app.quit()
    else:
        QTimer.singleShot(0 if "plots" not in seen else 1, watch)

QTimer.singleShot(0, watch)
app.exec()
window.close()
"""

MOMENTS = ("shown", "plots", "library", "pages", "record")
"""What the application's start is timed to (the bare window's is "plots" alone): its window shown; its Program
page's plots built; the drug library approved; the pages built ahead; the clinic record opened with the sign-in dialog
up."""


def time_start(code: str, env: dict, moments: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """For each moment, the seconds from launch to it: wall-clock time, and the CPU time the process had used by
    then (all its threads)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert process.stdout is not None
    times: dict[str, tuple[float, float]] = {}
    for _ in moments:
        name, _space, used = process.stdout.readline().strip().partition(b" ")
        times[name.decode()] = (time.perf_counter() - started, float(used or "nan"))
    process.wait(timeout=60)
    process.stdout.close()
    if set(times) != set(moments):
        raise SystemExit(f"the window did not reach {', '.join(moments)} (exit code {process.returncode})")
    return times


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
        time_start(BARE, env, ("plots",))  # warm the file and bytecode caches for both
        time_start(APPLICATION, env, MOMENTS)
        bare: list[tuple[float, float]] = []
        application: list[dict[str, tuple[float, float]]] = []
        for _ in range(args.runs):
            bare.append(time_start(BARE, env, ("plots",))["plots"])
            application.append(time_start(APPLICATION, env, MOMENTS))
    bare_s, bare_cpu_s = (statistics.median(times) for times in zip(*bare))
    wall = {moment: statistics.median(run[moment][0] for run in application) for moment in MOMENTS}
    cpu = {moment: statistics.median(run[moment][1] for run in application) for moment in MOMENTS}
    print(f"bare PySide6 + one pyqtgraph plot: median {bare_s * 1000:.0f} ms over {args.runs} starts")
    print(f"clinician application main window with its plots: median {wall['plots'] * 1000:.0f} ms over {args.runs} "
          "starts")
    print(f"ratio application / bare: {wall['plots'] / bare_s:.2f} (target <= 1.2)")
    print(f"CPU time used by then (every thread; steadier than the wall clock on a busy machine): bare "
          f"{bare_cpu_s * 1000:.0f} ms, application with its plots {cpu['plots'] * 1000:.0f} ms (ratio "
          f"{cpu['plots'] / bare_cpu_s:.2f}, target <= 1.2)")
    for moment, what in (("shown", "the application's window shown, before its plots"),
                         ("library", "the drug library approved (checked in the window's library thread)"),
                         ("pages", "the pages built ahead (a page per turn of the event loop after the library)"),
                         ("record", "the clinic record opened and the sign-in dialog up (in the window's clinic "
                                    "thread)")):
        print(f"{what}: median {wall[moment] * 1000:.0f} ms, ratio to bare {wall[moment] / bare_s:.2f}; CPU "
              f"{cpu[moment] * 1000:.0f} ms, ratio {cpu[moment] / bare_cpu_s:.2f}")


if __name__ == "__main__":
    main()

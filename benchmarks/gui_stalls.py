"""Stalls of the GUI thread in ``--demo``: from launch to the first reading drawn, then through one
edit-review-commit cycle, as a clinician does it, then the Events, History, Audit and Wire trace tabs opened (their
pages are built then). Target: no gap over 50 ms once the window is shown.

A heartbeat timer ticks every 5 ms on the GUI thread and records the time between ticks: any gap much
longer than 5 ms is a time the window could neither paint nor take a key. Each gap is labelled with the
phase it fell in (the driver below names them), and a watchdog thread samples the GUI thread's stack while
a tick is late, so each long gap also says what was running (the innermost frames of the project and of
the libraries it calls). The window is built as ``pump-programmer --demo`` builds it (``ui.app``), with
the bundled emulator, offscreen, with the settings and audit log in a temporary directory.

The clinic's record is part of the run: the demo's throwaway store is made, its clinician signed in, the pump read
matched and bound to the demo patient, the dose history read, and the write audited and added to that history, each
in the window's clinic thread or the link's (``ui.visit_controls``); the phases say while the record is still being
opened, and the report gives the moment it was ready.

Each run prints the longest gaps on the wall clock, then the gaps with the most of the GUI thread's own CPU time:
on a machine shared with other work the wall clock counts the time others took the cores, the CPU time only the
window's own work, which is what the code decides. The edit is reviewed once the preview shows the dose typed, as a
clinician reads it before turning to the Review page.

Gaps before the window is shown (Qt and the project imported, the window constructed) are start-up time,
which ``benchmarks/gui_startup.py`` measures; they are printed but not held to the target: there is no
window yet to freeze.

    python3 benchmarks/gui_stalls.py [--top N] [--heartbeat-ms MS] [--depth FRAMES]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

TARGET_MS = 50.0
WATCH_AFTER_MS = 20.0
"""The watchdog samples the GUI thread's stack once a tick is this late."""
WAITING = "waiting for the first reading"
TIMEOUT_S = 60.0
"""Bound for the whole run: a link that never answers ends the benchmark with a message, not a hang."""

_TEMP = tempfile.TemporaryDirectory(prefix="itb-gui-stalls-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_TEMP.name, "config")  # QSettings: never the user's own file
os.environ["ITB_AUDIT_LOG"] = os.path.join(_TEMP.name, "audit.jsonl")

from PySide6.QtCore import QTimer, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


@dataclass
class Gap:
    start: float
    end: float
    cpu: float
    """The GUI thread's own CPU time in the gap: the work itself, without the time other processes on a busy
    machine took the core (the wall time is what the target counts; this says how much of it was ours)."""
    phase: str
    stacks: collections.Counter = field(default_factory=collections.Counter)

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


class Heartbeat:
    """The ticking timer, the phase now, and the watchdog that sees what the GUI thread does while late."""

    def __init__(self, interval_ms: int, depth: int):
        self.interval_ms = interval_ms
        self.depth = depth
        self.phase = "imports and QApplication"
        self.last = time.perf_counter()
        self.last_cpu = time.thread_time()
        self.gaps: list[Gap] = []
        self.window_shown_at: float | None = None
        self.record_ready_at: float | None = None
        self._sampled: collections.Counter = collections.Counter()
        self._main = threading.get_ident()
        self._stop = threading.Event()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self._watchdog = threading.Thread(target=self._watch, name="stall watchdog", daemon=True)

    def start(self) -> None:
        self.last, self.last_cpu = time.perf_counter(), time.thread_time()
        self.timer.start()
        self._watchdog.start()

    def stop(self) -> None:
        self.tick()
        self.timer.stop()
        self._stop.set()
        self._watchdog.join()

    def enter(self, phase: str) -> None:
        """A new phase: the gap running now (the work about to start) is counted in it."""
        self.tick()
        self.phase = phase

    def tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        stacks, self._sampled = self._sampled, collections.Counter()
        self.gaps.append(Gap(self.last, now, cpu - self.last_cpu, self.phase, stacks))
        self.last, self.last_cpu = now, cpu

    def _watch(self) -> None:
        while not self._stop.wait(0.004):
            if (time.perf_counter() - self.last) * 1000 > WATCH_AFTER_MS:
                frame = sys._current_frames().get(self._main)
                if frame is not None:
                    self._sampled[where(frame, self.depth)] += 1


def where(frame, depth: int) -> str:
    """The ``depth`` innermost frames, then the innermost frame of the project's own code (not this file's)
    if it is not among them: what runs, and which of the project's lines asked for it."""
    root = Path(__file__).resolve().parents[1]
    entries = list(reversed(traceback.extract_stack(frame)))

    def name(entry) -> str:
        short = entry.filename.split("site-packages" + os.sep)[-1].replace(str(root) + os.sep, "")
        return f"{short}:{entry.lineno} {entry.name}"

    def ours(entry) -> bool:
        return entry.filename.startswith(str(root)) and entry.filename != __file__ and ".venv" not in entry.filename

    shown = entries[:depth]
    own = next((entry for entry in entries if ours(entry)), None)
    names = [name(entry) for entry in shown]
    if own is not None and own not in shown:
        names.append("... " + name(own))
    return " <- ".join(names) if names else "(in Qt, no Python frame)"


class Cycle:
    """Drives the window as a clinician would, one step per condition met, the event loop turning between."""

    def __init__(self, app: QApplication, beat: Heartbeat, window):
        self.app, self.beat, self.window = app, beat, window
        self.steps = self._steps()
        self.waiting: tuple | None = None
        self.deadline = time.perf_counter() + TIMEOUT_S
        self.failed: str | None = None
        self.poll = QTimer()
        self.poll.setInterval(2)
        self.poll.timeout.connect(self._advance)
        self.poll.start()

    def _steps(self):
        from ui.main_window import AUDIT_TAB, EVENTS_TAB, HISTORY_TAB, PROGRAM_TAB, TRACE_TAB
        window = self.window

        def drawn() -> bool:
            if window.preview is None or window.snapshot is None:
                return False
            hours = window.preview.rate_items["current"].getData()[0]
            return hours is not None and len(hours) > 0

        yield WAITING, None, lambda: window.snapshot is not None
        found = window.visit_controls
        yield "first reading shown, plots drawn, its patient found", None, lambda: drawn() and found.ready
        yield "patient confirmed", self._confirm, lambda: found.confirm_dialog is None and found.ready
        # A clinician reads the Overview for seconds: by then the window has built the Review page's plots too.
        yield "the review's plots built", None, lambda: window.review.plots is not None
        yield "Program tab shown", lambda: window.show_tab(PROGRAM_TAB), lambda: window.preview.isVisible()
        for key in "165":
            yield f"typing the dose ({key})", lambda key=key: self._type(key), lambda: True
        def previewed() -> bool:  # what a clinician reads before turning to Review: the plots showing the dose typed
            evaluation = window.editor.evaluation
            review = evaluation.review
            return evaluation.entered == "165" and review is not None and window.preview.plans[1] is review.plan

        yield "evaluation settles, the preview drawn", None, self._settled(previewed)
        yield "Review opened", lambda: window.editor.review_button.click(), lambda: window.review.gate is not None
        yield "signing", self._sign, lambda: window.review.write.isEnabled()
        yield "writing and reading back", lambda: window.review.write.click(), self._written
        yield "after the write", None, lambda: True
        # The pages a visit reads now and then are built at their tab's first showing: each is a step too.
        for tab, name in ((EVENTS_TAB, "Events"), (HISTORY_TAB, "History"), (AUDIT_TAB, "Audit"),
                          (TRACE_TAB, "Wire trace")):
            yield (f"{name} tab first shown", lambda tab=tab: window.show_tab(tab),
                   self._settled(lambda: window.visit_controls.ready and window.history.ready
                                 if tab == HISTORY_TAB else True))

    def _settled(self, condition):
        """``condition``, once it has held across a heartbeat: a person's next action never comes in the turn of the
        event loop that drew what they read (a script's could, and would count that turn's work in the next step)."""
        since: list[int] = []

        def settled() -> bool:
            if not condition():
                since.clear()
                return False
            if not since:
                since.append(len(self.beat.gaps))
            return len(self.beat.gaps) > since[0]
        return settled

    def _label_start_up(self) -> None:
        """While the first reading is awaited, say which part of the plots' staged build the window is at."""
        phase = self.beat.phase
        if not phase.startswith(WAITING):
            return
        window = self.window
        doing = ("building the plots" if window.preview is None
                 else "checking the drug library" if window.library is None
                 else "building the pages" if not window.built("review") or window.review.plots is None
                 else "plots built")
        if not window.visit_controls.ready:
            doing += ", the clinic record opening"
        if phase != f"{WAITING}: {doing}":
            self.beat.enter(f"{WAITING}: {doing}")

    def _type(self, key: str) -> None:
        field_ = self.window.editor.daily_dose
        if key == "1":
            field_.setFocus()
            field_.selectAll()
        QTest.keyClicks(field_, key)

    def _confirm(self) -> None:
        """Answer "Confirm the patient" with the date of birth the demo's dialog gives, as a visitor does."""
        from ui.demo_clinic import DEMO_BIRTH
        dialog = self.window.visit_controls.confirm_dialog
        dialog.born.setText(DEMO_BIRTH.isoformat())
        dialog.confirm_button.click()

    def _sign(self) -> None:
        review = self.window.review
        for check, reason in review._ack_widgets:
            check.setChecked(True)
            reason.setText("agreed in clinic")
        review.clinician.setText(self.window.clinic.user.display_name)  # the signature: the signed-in name
        review.confirm.setChecked(True)

    def _written(self) -> bool:
        window = self.window
        if window.link.busy or window.review.gate is not None or not window.visit_controls.ready:
            return False  # the dose history is read again after the write
        if window.banner.title.text() != "Written and verified.":
            self.failed = f"the write did not verify: {window.banner.title.text()} {window.banner.text.text()}"
        return True

    def _advance(self) -> None:
        if self.beat.record_ready_at is None and self.window.clinic.user is not None:
            self.beat.record_ready_at = time.perf_counter()
        self._label_start_up()
        if time.perf_counter() > self.deadline:
            self.failed = f"timed out in phase {self.beat.phase!r}"
        while self.failed is None:
            if self.waiting is not None:
                if not self.waiting[2]():
                    return
                self.waiting = None
            step = next(self.steps, None)
            if step is None:
                break
            phase, action, done = step
            self.beat.enter(phase)
            if action is not None:
                action()
            self.waiting = step
            return
        self.poll.stop()
        self.beat.enter("closing")  # Qt closes the window as the loop quits: the link and emulator stop
        self.app.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12, help="how many of the longest gaps to print")
    parser.add_argument("--heartbeat-ms", type=int, default=5)
    parser.add_argument("--depth", type=int, default=2, help="how many innermost frames name a blocking stack")
    args = parser.parse_args()
    launched = time.perf_counter()
    app = QApplication(sys.argv[:1])
    beat = Heartbeat(args.heartbeat_ms, args.depth)
    beat.start()
    beat.enter("importing the application")
    from ui import app as application
    from ui import gui_thread_gc
    from ui.widgets import STYLE_SHEET
    app.setStyleSheet(STYLE_SHEET)
    beat.enter("building and showing the window")
    window = application.create_window(demo=True)  # it checks the drug library once shown, in a thread of its own
    gui_thread_gc.keep_start_up()  # as ui.app.run does before its event loop
    window.pages_built.connect(gui_thread_gc.keep_start_up)  # and again once the pages are built, as run does
    beat.enter("window shown: first paint")
    beat.window_shown_at = time.perf_counter()
    cycle = Cycle(app, beat, window)
    app.exec()
    window.close()
    beat.stop()
    report(beat, cycle, launched, args.top)


def report(beat: Heartbeat, cycle: Cycle, launched: float, top: int) -> None:
    shown = beat.window_shown_at
    assert shown is not None
    before = [gap for gap in beat.gaps if gap.end <= shown]
    after = [gap for gap in beat.gaps if gap.start >= shown and gap.phase != "closing"]
    ready = beat.record_ready_at
    print(f"clinic record ready (the demo's store made, Dr Demo signed in) "
          f"{'never' if ready is None else f'{(ready - launched) * 1000:.0f} ms after launch'}")
    print(f"window shown {(shown - launched) * 1000:.0f} ms after launch; "
          f"run {(beat.gaps[-1].end - launched):.1f} s, {len(after)} heartbeats of {beat.interval_ms} ms after it")
    print("before the window is shown (start-up time, not held to the target):")
    for gap in before:
        if gap.ms >= 1:
            print(f"  {gap.ms:7.1f} ms  {gap.phase}")
    print(f"longest gaps once the window is shown (target: none over {TARGET_MS:g} ms):")
    for gap in sorted(after, key=lambda g: -g.ms)[:top]:
        print(f"  {gap.ms:7.1f} ms (GUI thread CPU {gap.cpu * 1000:5.1f} ms) at {(gap.start - launched) * 1000:6.0f} ms"
              f"  {gap.phase}")
        for stack, count in gap.stacks.most_common(2):
            print(f"              {count} x {stack}")
    print("the GUI thread's own work: the gaps with the most CPU (what holds under a busy machine's load):")
    for gap in sorted(after, key=lambda g: -g.cpu)[:top]:
        print(f"  {gap.cpu * 1000:5.1f} ms CPU (wall {gap.ms:6.1f} ms) at {(gap.start - launched) * 1000:6.0f} ms"
              f"  {gap.phase}")
    print("phases (from launch, and how long each lasted; the longest gap in it):")
    spans: dict[str, list[float]] = {}
    for gap in after:
        span = spans.setdefault(gap.phase, [gap.start, gap.end, 0.0])
        span[1], span[2] = gap.end, max(span[2], gap.ms)
    for phase, (start, end, worst) in spans.items():
        print(f"  at {(start - launched) * 1000:6.0f} ms for {(end - start) * 1000:6.0f} ms, "
              f"longest gap {worst:6.1f} ms  {phase}")
    longest = max((gap.ms for gap in after), default=0.0)
    over = sum(gap.ms > TARGET_MS for gap in after)
    busiest = max(after, key=lambda gap: gap.cpu, default=None)
    if busiest is not None:
        print(f"the GUI thread's own work in one gap, at most: {busiest.cpu * 1000:.1f} ms ({busiest.phase}; its wall "
              f"time {busiest.ms:.1f} ms): what the gaps would be on a machine with a core free for it")
    if cycle.failed:
        print(f"RUN FAILED: {cycle.failed}")
    print(f"gaps over {TARGET_MS:g} ms: {over}; longest {longest:.1f} ms; ratio to target {longest / TARGET_MS:.2f}; "
          f"target {'met' if over == 0 and not cycle.failed else 'NOT met'}")
    if cycle.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""The application as a process on a desktop: however it is ended, nothing of it is left running.

Each test starts the real ``pump-programmer --demo`` (offscreen) in a session of its own, with its
temporary files, log and settings under ``tmp_path``, waits until its log says it is connected to the
bundled emulator, ends it one way, then checks that no process of that session is alive, that the
emulator's port no longer answers and (where the application had the chance) that the emulator's
temporary directory is gone. Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.console_scripts import script
from ui.emulator import TEMP_PREFIX, remove_orphaned_state_dirs

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
ORPHAN_TIMEOUT_S = 5.0
"""The emulator must notice within a few seconds that the application is gone."""

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> object:
    """Poll ``condition`` (a cheap read of /proc or a file) until it is true, at most ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.02)
    return result


@dataclass(frozen=True)
class Proc:
    pid: int
    state: str
    session: int
    command: str


def processes_of_session(session: int) -> list[Proc]:
    """The live (not zombie) processes whose session id is ``session``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended while we looked
        fields = stat[stat.rindex(")") + 2:].split()
        state, sid = fields[0], int(fields[3])
        if sid == session and state not in ("Z", "X"):
            found.append(Proc(int(entry.name), state, sid, command))
    return found


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class App:
    """``pump-programmer --demo`` in a new session (so it and its children can be found by session id)."""

    def __init__(self, home: Path, display: str | None = None):
        self.home = home
        self.tmp = home / "tmp"
        self.tmp.mkdir()
        self.log = home / "state" / "itb-programmer" / "log" / "itb-programmer.log"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        env.update(QT_QPA_PLATFORM="offscreen" if display is None else "xcb", TMPDIR=str(self.tmp), XDG_STATE_HOME=str(home / "state"),
                   XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                   ITB_AUDIT_LOG=str(home / "audit.jsonl"))
        if display is not None:
            env["DISPLAY"] = display
        self.process = subprocess.Popen([script("pump-programmer"), "--demo"], env=env, start_new_session=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.port = int(wait_until(self._connected_port, START_TIMEOUT_S, "the application to connect"))
        [self.emulator] = [p for p in processes_of_session(self.process.pid) if p.pid != self.process.pid]

    def _connected_port(self) -> str | None:
        if self.process.poll() is not None:
            pytest.fail(f"the application exited early with {self.process.returncode}")
        text = self.log.read_text() if self.log.exists() else ""
        found = re.search(r"connected to socket://127\.0\.0\.1:(\d+)", text)
        return found and found.group(1)

    def left_running(self) -> list[Proc]:
        return processes_of_session(self.process.pid)

    def emulator_dirs(self) -> list[Path]:
        return sorted(self.tmp.glob(f"{TEMP_PREFIX}*"))

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_S)
        for leftover in self.left_running():
            os.kill(leftover.pid, signal.SIGKILL)


@pytest.fixture
def app(tmp_path):
    running = App(tmp_path)
    yield running
    running.end()


@pytest.fixture
def x11_display() -> Iterator[str]:
    """A virtual X11 display (Xvfb), so the application is tried with Qt's real ``xcb`` platform plugin:
    the one that needs Debian's libxcb-* libraries, which offscreen runs never load."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (scripts/bootstrap installs it)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", "1280x900x24"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as chosen:  # Xvfb writes the display number it took once it is ready
        ready, _, _ = select.select([chosen], [], [], START_TIMEOUT_S)
        number = chosen.readline().strip() if ready else ""
    if not number.isdigit():
        server.kill()
        pytest.fail(f"Xvfb did not start (exit {server.wait(timeout=10)})")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=STOP_TIMEOUT_S)


@pytest.mark.slow  # an X server, then the application and its emulator on it
def test_on_a_real_x11_display_it_opens_connects_and_quits_cleanly(tmp_path, x11_display):
    app = App(tmp_path, display=x11_display)
    try:
        assert port_answers(app.port)
        app.process.send_signal(signal.SIGTERM)
        assert app.process.wait(timeout=STOP_TIMEOUT_S) == 0
        assert app.left_running() == [] and app.emulator_dirs() == []
    finally:
        app.end()


def test_the_bundled_emulator_is_called_pump_emulator_and_lives_in_its_own_process_group(app):
    assert "pump-emulator" in app.emulator.command
    assert "--exit-on-stdin-close" in app.emulator.command
    assert os.getpgid(app.emulator.pid) != os.getpgid(app.process.pid)  # Ctrl+C reaches only the application
    assert port_answers(app.port)
    assert len(app.emulator_dirs()) == 1


@pytest.mark.parametrize("signum, to_group", [(signal.SIGTERM, False), (signal.SIGINT, True), (signal.SIGHUP, False)],
                         ids=["SIGTERM", "SIGINT to the process group (Ctrl+C)", "SIGHUP"])
def test_a_signal_quits_like_the_quit_action(app, signum, to_group):
    if to_group:
        os.killpg(os.getpgid(app.process.pid), signum)
    else:
        app.process.send_signal(signum)
    assert app.process.wait(timeout=STOP_TIMEOUT_S) == 0
    log = app.log.read_text()
    assert f"{signal.Signals(signum).name} received: quitting" in log
    assert "stopped (exit code 0)" in log
    # The application stopped the emulator itself and waited for it: nothing is left to notice later.
    assert app.left_running() == []
    assert not port_answers(app.port)
    assert app.emulator_dirs() == []


def test_after_sigkill_the_emulator_saves_its_state_and_exits_by_itself(app):
    [state_dir] = app.emulator_dirs()
    app.process.kill()
    app.process.wait(timeout=STOP_TIMEOUT_S)
    wait_until(lambda: app.left_running() == [], ORPHAN_TIMEOUT_S, "the orphaned emulator to exit")
    assert not port_answers(app.port)
    # It saved its memory on the way out, as on any clean stop: the demo patient's pump is in it.
    state = (state_dir / "pump.json").read_text()
    assert "baclofen" in state


def test_a_later_start_removes_the_directories_of_killed_applications(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    dead = _pid_of_an_ended_process()
    orphan = tmp_path / f"{TEMP_PREFIX}{dead}-abc123"
    alive = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-def456"
    unrelated = tmp_path / f"{TEMP_PREFIX}notapid-x"
    for path in (orphan, alive, unrelated):
        path.mkdir()
        (path / "pump.json").write_text("{}")
    remove_orphaned_state_dirs()
    assert not orphan.exists()
    assert alive.exists() and unrelated.exists()


def _pid_of_an_ended_process() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid

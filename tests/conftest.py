"""Shared test setup: Qt runs offscreen in every test session, set here so no one has to remember; no test
touches the user's own files; and the fixtures that start the real emulator, for every folder of tests."""

from __future__ import annotations

import gc
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

BYTECODE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "bytecode"
"""Where the run keeps compiled Python when the environment says not to write bytecode beside the sources
(``PYTHONDONTWRITEBYTECODE``, set on some build machines to keep the tree clean). Without a cache every run compiled
the project and pytest rewrote every test module's asserts again, in each xdist worker and in each of the
processes the suite starts: some 6 s of CPU a worker, a tenth of the suite. Honoured the other way: nothing is
written beside the sources; the cache is in pytest's own folder (ignored by git), and it is set here, before the
project is imported and before xdist starts its workers, which inherit the environment."""
if sys.dont_write_bytecode:
    sys.dont_write_bytecode = False
    sys.pycache_prefix = sys.pycache_prefix or str(BYTECODE)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix

MEMORY_DISK = Path("/dev/shm")
"""Where the run's temporary files go when the system has it (Linux's tmpfs), through pytest's own setting for the
root of ``tmp_path`` (``PYTEST_DEBUG_TEMPROOT``, read when the first temporary directory is made, so set here): the
emulators save their state with fsync at every commit, the clinic stores commit several times a command, and each
test makes its files afresh, some 1 to 30 ms apiece on a busy disk and nothing in memory. They are still real files,
kept (the last three runs, as pytest keeps them) under ``/dev/shm/pytest-of-USER`` for a failure to be looked at. A
temporary root the user chose is kept."""
if MEMORY_DISK.is_dir() and os.access(MEMORY_DISK, os.W_OK):
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", str(MEMORY_DISK))

import pytest
from hypothesis import HealthCheck, settings

from clinic.store import open_store
from programmer.library_signing import administrator_trust_path
from programmer.roles import ROLE_PERMISSIONS, Permission, Role
from tests.support.clinic_fixtures import OSEI, clinic_db
from tests.support.cli_runs import SignedIn
from tests.support.emulator_fixtures import PTY_AVAILABLE, EmulatorProcess, unused_loopback_port
from tests.support.library_signing import Signer, write_trust_store
from tests.support.pairing import write_programmer_keys

# A 1366x900 screen, the size of a common clinic laptop, instead of the plugin's default 800x600: the
# window's minimum (about 610x630) must fit on it, or a restored geometry is squeezed.
SCREEN = os.path.join(os.path.dirname(__file__), "support", "offscreen-screen.json")
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={SCREEN}")

# Property tests try 40 examples each in a run of the suite (the whole suite must stay quick to run at every
# change); benchmarks/property_tests.py runs the same tests with 300 each (--hypothesis-profile=thorough).
# CI runs the same examples every time (a red build is then reproducible); locally hypothesis explores. No
# deadline: an example's time is the machine's load (a busy CI runner failed a round trip at 200 ms), and speed is
# measured in benchmarks/, never asserted by a test; so the "too slow" health check is off too (it failed generating
# examples on a machine at load 10).
settings.register_profile("suite", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300)
settings.register_profile("ci", parent=settings.get_profile("suite"), derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "suite")


TESTS = Path(__file__).resolve().parent
FOLDER_MARKS = {("system",): "system", ("ui",): "gui", ("ui", "view_models"): None}
"""The marks a folder gives its tests (pyproject.toml lists them); the deepest folder named decides."""


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker more than the cores this process may use. A worker spends about a third of its
    time waiting on processes it started (emulators, the application, the install) and on links' timeouts; a
    third worker on two cores keeps them busy meanwhile (1349 tests: 118 s instead of 128 to 137 s)."""
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items):
    """Mark each test by its folder, then put the slow ones first: with pytest-xdist the longest start at once
    and the many short ones fill in around them, instead of one worker running a long one alone at the end."""
    for item in items:
        folders = item.path.resolve().relative_to(TESTS).parts[:-1]
        named = [parts for parts in FOLDER_MARKS if folders[:len(parts)] == parts]
        if named and (mark := FOLDER_MARKS[max(named, key=len)]) is not None:
            item.add_marker(mark)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session):
    """Once the tests are collected, what the run has built so far (every module the tests import, the collected
    tests themselves: some two hundred thousand objects) is moved out of the cycle collector's sight
    (``gc.freeze``): none of it is garbage, yet each full collection walked all of it, some 0.1 s apiece. The
    application collects in full each time a window's link ends (``ui.gui_thread_gc``), some six hundred times in a
    run, and the interpreter on its own whenever enough has been allocated. What the tests make afterwards is
    collected as before, until it has outlived a test (``pytest_runtest_setup``)."""
    gc.collect()
    gc.freeze()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before each test, the garbage the tests before it left is collected, and what outlived them is moved out of
    the cycle collector's sight too, as at the end of collection. A worker keeps some seven hundred objects of each
    window test (caches, pyqtgraph's and Qt's own registries, the reports): live, so never collected, but each full
    collection walked all of them again, and there are three or more a window test, so the cost grew with every
    test the worker had run (20 ms a collection after ten window tests, 100 to 300 ms after eighty). This
    collection walks only what the last test made, a few milliseconds. What the frozen objects hold is freed by
    reference counting as before; only a cycle among them that becomes garbage later stays in memory."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def user_dirs(tmp_path_factory):
    """No test touches the real user's files: settings, the application log, desktop entries and the
    default audit log all go under one directory of this session (child processes inherit it too). So do the
    programmer's pairing keys (``$ITB_PAIRING_KEYS``): the run's programmer, paired with every pump the fixtures
    start (tests/support/pairing.py)."""
    home = tmp_path_factory.mktemp("user")
    with pytest.MonkeyPatch.context() as patch:
        for kind in ("config", "state", "data"):
            patch.setenv(f"XDG_{kind.upper()}_HOME", str(home / kind))
        patch.setenv("ITB_PAIRING_KEYS", str(write_programmer_keys(home / "pairing-keys.json")))
        from PySide6.QtCore import QSettings

        for format_ in (QSettings.IniFormat, QSettings.NativeFormat):
            QSettings.setPath(format_, QSettings.UserScope, str(home / "config"))
        yield home


@pytest.fixture(autouse=True)
def no_remembered_settings(user_dirs):
    """Each test starts as on a first run: a window closed by one test must not size the next one's."""
    from ui.settings import store

    store().clear()


# --- the clinic record: a store of the test's own, with osei (a clinician) signed in -------------------------


@pytest.fixture(scope="session")
def signed_in_template(tmp_path_factory) -> tuple[Path, str]:
    """A filled clinic store (tests/support/clinic_fixtures.py) with a token for osei, made once per worker: each test
    copies the file, so its token is good there too."""
    url = clinic_db(tmp_path_factory.mktemp("clinic-template"))
    store = open_store(url)
    try:
        token = store.users.issue_token(OSEI, timedelta(days=7))
    finally:
        store.close()
    return Path(url.removeprefix("sqlite:///")), token


@pytest.fixture
def clinic_record(tmp_path, monkeypatch, signed_in_template) -> SignedIn:
    """This test's own clinic store (``$ITB_DB``) with osei signed in (``$ITB_TOKEN_FILE``): users osei, kim, tess
    and ada, patient TEST-0001 with no pump. ``clinic_record.sign_in(user)`` signs another in."""
    template, token = signed_in_template
    (tmp_path / "clinic-record").mkdir()
    target = tmp_path / "clinic-record" / "clinic.sqlite3"  # apart from any store the test makes in tmp_path
    shutil.copyfile(template, target)
    os.chmod(target, 0o600)
    signed = SignedIn(f"sqlite:///{target}", tmp_path / "token")
    signed.write(token)
    monkeypatch.setenv("ITB_DB", signed.url)
    monkeypatch.setenv("ITB_TOKEN_FILE", str(signed.token_file))
    return signed


@pytest.fixture
def pharmacy(tmp_path, monkeypatch) -> Signer:
    """A pharmacy's throwaway signing key, which the administrator's trust store of this test alone lists (its own
    ``$XDG_CONFIG_HOME``): a library it signs is approved here. ``Signer()`` makes a key no store lists."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    signer = Signer()
    write_trust_store(administrator_trust_path(), signer)
    return signer


# --- pumps to talk to: the real emulator as a process (tests/support/emulator_fixtures.py) ---------------


@pytest.fixture(params=["tcp", pytest.param("pty", marks=pytest.mark.skipif(not PTY_AVAILABLE, reason="no pty"))])
def emulator_link(request) -> str:
    """``tcp`` or ``pty``: every test using it runs once over each link."""
    return request.param


@pytest.fixture
def start_emulator(tmp_path) -> Iterator[Callable[..., EmulatorProcess]]:
    """A factory: ``start_emulator(*args, link="tcp", state=None, console_script=False)`` starts an emulator;
    all stop at teardown. ``console_script``: run ``pump-emulator`` itself rather than fork it."""
    started: list[EmulatorProcess] = []

    def start(*args: str, link: str = "tcp", state: Path | None = None, console_script: bool = False) -> EmulatorProcess:
        emulator = EmulatorProcess(state or tmp_path / f"pump-{len(started)}.json", link, args, console_script)
        started.append(emulator)
        emulator.start()
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(start_emulator, emulator_link) -> EmulatorProcess:
    """A factory-new emulated pump with service commands enabled, over each link in turn."""
    return start_emulator("--service", link=emulator_link)


@pytest.fixture
def closed_port() -> str:
    """The URL of a loopback port nobody listens on: connecting to it is refused at once."""
    return f"socket://127.0.0.1:{unused_loopback_port()}"


@pytest.fixture
def insecure_links_allowed(monkeypatch) -> None:
    """The test rig's clinician may also change a pump over a link that is not encrypted: the fault-injecting proxy
    (tests/support) reads and alters frames, which only the insecure protocol version 1 lets it do, and the
    application's tests change a pump over such a link. No role of the programmer holds both permissions
    (docs/roles.md): a tester may use such a link, and may not change therapy."""
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.CLINICIAN, ROLE_PERMISSIONS[Role.CLINICIAN] | {Permission.INSECURE_LINK})

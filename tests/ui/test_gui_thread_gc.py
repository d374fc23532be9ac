"""While the pump link's thread runs, garbage cycles are collected on the GUI thread only (ui/gui_thread_gc.py):
a Qt object destroyed by the collector in another thread crashed a test worker once, and hung a run another
time."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from tests.support.ui_actions import new_window
from ui import gui_thread_gc


class _Cycle:
    """An object in a reference cycle with itself: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def _collections_by_thread():
    """A gc callback recording the name of the thread each collection ran on, and the list it records into."""
    threads: list[str] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            threads.append(threading.current_thread().name)
    return record, threads


def test_a_window_turns_automatic_collection_off_while_its_link_runs_and_back_on_when_closed(qtbot, tmp_path):
    assert gc.isenabled()
    window = new_window(qtbot, tmp_path)
    assert not gc.isenabled()
    window.close()
    window.close()  # a window may be closed twice: the second close gives nothing back twice
    assert gc.isenabled()


def test_a_cycle_made_while_held_is_freed_on_the_gui_thread_within_a_tick(qtbot):
    freed_on: list[str] = []
    gui_thread_gc.hold()
    try:
        cycle = _Cycle()
        weakref.finalize(cycle, lambda: freed_on.append(threading.current_thread().name))
        del cycle
        for _ in range(2000):  # past generation 0's threshold, as any busy program is
            _Cycle()
        qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)
    finally:
        gui_thread_gc.release()
    assert freed_on == [threading.main_thread().name]


def test_a_busy_thread_never_runs_the_collector_while_held(qtbot):
    """The link's thread allocates far past every threshold; no collection starts on it, and the garbage it made
    is collected on the GUI thread."""
    record, threads = _collections_by_thread()
    freed_on: list[str] = []

    def busy() -> None:
        for index in range(200_000):
            cycle = _Cycle()
            if index == 0:
                weakref.finalize(cycle, lambda: freed_on.append(threading.current_thread().name))

    gui_thread_gc.hold()
    gc.callbacks.append(record)
    try:
        worker = threading.Thread(target=busy, name="busy link")
        worker.start()
        qtbot.waitUntil(lambda: not worker.is_alive(), timeout=20_000)
        qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)
    finally:
        gc.callbacks.remove(record)
        gui_thread_gc.release()
    assert "busy link" not in threads
    assert set(threads) == {threading.main_thread().name}
    assert freed_on == [threading.main_thread().name]


def test_without_the_hold_the_same_busy_thread_does_collect_itself(qtbot):
    """The check above can fail: left to the interpreter, the busy thread runs collections of its own."""
    record, threads = _collections_by_thread()
    gc.callbacks.append(record)
    try:
        worker = threading.Thread(target=lambda: [_Cycle() for _ in range(200_000)], name="busy link")
        worker.start()
        qtbot.waitUntil(lambda: not worker.is_alive(), timeout=20_000)
    finally:
        gc.callbacks.remove(record)
    assert "busy link" in threads


def test_releasing_more_than_held_is_a_bug_said_aloud(qtbot):
    gui_thread_gc.hold()
    gui_thread_gc.release()
    with pytest.raises(RuntimeError, match="released more often than it was held"):
        gui_thread_gc.release()
    assert gc.isenabled()


def test_hold_and_release_belong_to_the_gui_thread(qtbot):
    errors: list[Exception] = []

    def elsewhere() -> None:
        try:
            gui_thread_gc.hold()
        except RuntimeError as exc:
            errors.append(exc)

    gui_thread_gc.hold()  # the collector exists
    try:
        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join(timeout=5)
    finally:
        gui_thread_gc.release()
    assert len(errors) == 1 and "GUI thread only" in str(errors[0])
    assert gc.isenabled()


def test_a_full_collection_waits_until_the_oldest_generation_grew_by_a_quarter():
    """As the interpreter does: the oldest generation is collected when its count is due and what moved into it since
    its last collection is at least a quarter of what it held then; else the middle one is (a full collection walks
    every object of the application, tens of milliseconds of the GUI thread)."""
    collector = gui_thread_gc._Collector()
    generations: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            generations.append(info["generation"])

    kept: list[list] = []

    def ticks(count: int, survivors: int) -> None:
        for _ in range(count):
            kept.extend([] for _ in range(survivors))  # objects the collector tracks, kept alive
            collector.collect_due()

    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    gc.disable()
    gc.set_threshold(1, 1, 1)  # every generation due after a collection or two of the one below
    gc.callbacks.append(record)
    try:
        kept.extend([] for _ in range(20_000))  # an application's worth of long-lived objects, whatever the process
        gc.collect()  # holds already (the suite freezes what each test outlived): they are in the oldest generation
        ticks(10, 10)
        assert 2 in generations  # the first one: a collector never held has counted nothing there yet
        long_lived = len(gc.get_objects(2))
        generations.clear()
        ticks(16, long_lived // 200)  # some 8 % more, in small pieces: the oldest is due, but has not grown enough
        assert 2 not in generations and 1 in generations
        ticks(1, long_lived // 4)
        ticks(6, 1)
        assert 2 in generations
    finally:
        gc.callbacks.remove(record)
        gc.set_threshold(*thresholds)
        if enabled:
            gc.enable()

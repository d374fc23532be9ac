"""``ui.turns.Turns``: the window's build and the History page's drawing run a step per turn of the event loop."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from ui.turns import Turns


def steps(name: str, count: int, done: list[str]):
    for index in range(count):
        done.append(f"{name}{index}")
        yield


def test_steps_run_in_the_order_given_with_the_event_loop_turning_between_them(qtbot):
    owner = QObject()
    turns, done = Turns(owner), []

    def first():
        done.append("a0")
        QTimer.singleShot(0, lambda: done.append("turn"))  # an event that comes while a step runs
        yield
        done.append("a1")
        yield

    turns.add(first())
    turns.add(steps("b", 1, done))
    assert done == [] and turns.busy  # nothing before the event loop turns
    qtbot.waitUntil(lambda: not turns.busy, timeout=2000)
    assert done == ["a0", "turn", "a1", "b0"]


def test_paused_nothing_runs_until_resumed(qtbot):
    owner = QObject()
    turns, done = Turns(owner), []
    turns.add(steps("a", 2, done), start=False)
    qtbot.wait(30)  # the event loop turns: nothing was started
    turns.add(steps("b", 1, done))
    turns.pause()
    qtbot.wait(30)
    assert done == [] and turns.busy
    turns.resume()
    qtbot.waitUntil(lambda: not turns.busy, timeout=2000)
    assert done == ["a0", "a1", "b0"]


def test_a_replacement_drops_what_was_still_to_run(qtbot):
    owner = QObject()
    turns, done = Turns(owner), []

    def old():
        done.append("old0")
        turns.replace(steps("new", 2, done))  # a newer drawing, asked for while this one is under way
        yield
        done.append("old1")
        yield

    turns.add(old())
    qtbot.waitUntil(lambda: not turns.busy, timeout=2000)
    assert done == ["old0", "new0", "new1"]

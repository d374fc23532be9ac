"""``ui.background``: slow calls off the GUI thread, run one after another in the order asked, each answer (or the
exception itself) back on the GUI thread in that order. The clinic's calls depend on it: a visit starts on the
store opened before it, and a pump is matched in that visit."""

from __future__ import annotations

import threading

from ui.background import TAKEN_WAIT_S, Background

TIMEOUT_MS = 5_000


def test_calls_run_in_order_off_the_gui_thread_and_are_answered_in_order_on_it(qtbot):
    background = Background(name="clinic record")
    ran: list[tuple[str, str]] = []
    answered: list[tuple[str, object, bool]] = []
    go_on = threading.Event()

    def call(name: str, value: int):
        def run() -> int:
            if name == "first":
                assert go_on.wait(5), "the test lets the first call go on"
            ran.append((name, threading.current_thread().name))
            if value < 0:
                raise ValueError(f"{name}: {value} is below 0")
            return value * 2
        return run

    def answer(name: str):
        main = threading.current_thread() is threading.main_thread()
        return (lambda value: answered.append((name, value, main)),
                lambda error: answered.append((name, str(error), main)))

    for name, value in (("first", 1), ("second", -3), ("third", 5)):
        background.run(call(name, value), *answer(name))
    assert background.busy and ran == []  # the first holds the others back: one thread, in order
    go_on.set()
    qtbot.waitUntil(lambda: not background.busy, timeout=TIMEOUT_MS)
    assert ran == [("first", "clinic record"), ("second", "clinic record"), ("third", "clinic record")]
    assert answered == [("first", 2, True), ("second", "second: -3 is below 0", True), ("third", 10, True)]


def test_without_callables_the_answer_is_its_signal_and_wait_ends_with_the_last_call(qtbot):
    background = Background(name="sign-in")
    with qtbot.waitSignal(background.done, timeout=TIMEOUT_MS) as done:
        background.run(lambda: "signed in")
    assert done.args == ["signed in"]
    with qtbot.waitSignal(background.failed, timeout=TIMEOUT_MS) as failed:
        background.run(lambda: 1 / 0)
    assert isinstance(failed.args[0], ZeroDivisionError)
    seen = threading.Event()
    background.run(seen.set)
    background.wait()
    assert seen.is_set()
    qtbot.waitUntil(lambda: not background.busy, timeout=TIMEOUT_MS)


def test_calls_queued_by_a_window_that_is_gone_still_run_and_their_answers_are_dropped(qtbot):
    """A window closed while its store call runs: Qt deletes the object the answer would come back through. The
    call and those queued behind it (the visit's end, the store's closing) still run, and nothing raises in the
    thread."""
    from shiboken6 import delete

    background = Background(name="clinic record")
    go_on, ran, errors = threading.Event(), [], []
    hook, threading.excepthook = threading.excepthook, errors.append
    try:
        background.run(lambda: go_on.wait(5) and ran.append("the running call"))
        background.run(lambda: ran.append("the call queued behind it"))
        thread = background._thread
        delete(background)  # what Qt does to a closed window's children
        go_on.set()
        thread.join(5)
    finally:
        threading.excepthook = hook
    assert ran == ["the running call", "the call queued behind it"] and errors == []


def test_a_call_waits_until_the_gui_thread_has_taken_the_answer_before_it(qtbot):
    """The next call does not share the interpreter with the GUI thread's handling of the last answer (the layout
    and paint it causes): it starts once the event loop has turned past that answer."""
    background = Background(name="clinic record")
    order: list[str] = []
    first_returned, second_started = threading.Event(), threading.Event()

    def first() -> None:
        order.append("first call")
        first_returned.set()

    def second() -> None:
        second_started.set()
        order.append("second call")

    background.run(first, lambda _none: order.append("first answer taken"))
    background.run(second, lambda _none: order.append("second answer taken"))
    assert first_returned.wait(5)
    # The event loop does not turn here, so the first answer is not taken: the second call waits, up to its bound.
    assert not second_started.wait(TAKEN_WAIT_S / 2)
    qtbot.waitUntil(lambda: not background.busy, timeout=TIMEOUT_MS)
    assert order == ["first call", "first answer taken", "second call", "second answer taken"]


def test_a_gui_thread_that_does_not_take_the_answer_holds_the_next_call_only_for_the_bound(qtbot):
    background = Background(name="clinic record")
    second_started = threading.Event()
    background.run(lambda: None)
    background.run(second_started.set)
    # No event loop turns at all: the second call still runs, once TAKEN_WAIT_S has passed.
    assert second_started.wait(TAKEN_WAIT_S * 10)
    qtbot.waitUntil(lambda: not background.busy, timeout=TIMEOUT_MS)

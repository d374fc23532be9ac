"""Failures reach the window as the exception itself, and the window words them from their kind.

The link's worker thread hands over a ``Failure`` holding the exception (``ui.link``); the main window is
the one place that decides what to say: a link error leaves the link closed and which program runs
unknown, an error that guarantees nothing was sent says "NOT WRITTEN", and a bug during a write cannot
guarantee that, so it says UNCERTAIN. A write's result is never lost to a failure of the reading after it.
"""

from __future__ import annotations


import pytest

from tests.support.emulator_fixtures import LOOPBACK_LINK
from tests.support.fake_pump import PUMP_TIME, FakePump, baclofen
from tests.support.ui_actions import clinic_session
from programmer.errors import AuditError, InputError, LinkError, PumpRefused
from programmer.interrogation import read_pump
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.review import Decision, review_write
from ui.link import Commit, Connect, Failure
from ui.main_window import MainWindow

pytestmark = pytest.mark.usefixtures("no_window_left_open")
LINK_TIMEOUT_MS = 10_000
"""Bound for any wait on the link: one try on loopback ends well inside it."""
AFTER_LINK_LOST = "Which program the pump runs is not known: reconnect and interrogate before anything else."


@pytest.fixture
def window(qtbot, tmp_path):
    window = MainWindow(load_library(), clinic_session(tmp_path), {**LOOPBACK_LINK, "max_retries": 0})
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()



def test_a_link_failure_reaches_the_window_as_the_link_error_and_is_shown_from_it(qtbot, window, closed_port):
    with qtbot.waitSignal(window.link.failed, timeout=LINK_TIMEOUT_MS) as failed:
        window.connect_to(closed_port)
    request, failure = failed.args
    assert isinstance(request, Connect) and isinstance(failure.error, LinkError)
    assert failure.link_lost and failure.error.step == "connect"
    assert str(failure.error).startswith(f"connect: cannot open {closed_port} (")
    assert window.banner.title.text() == "Link to the pump lost."
    assert window.banner.text.text() == (f"While connecting and interrogating: {failure.error}. Nothing was changed "
                                         "on the pump by this read. The figures shown are those last read.")
    assert window.link.running is None and window.link._worker.driver is None


class RefusesToBeReadAfterAWrite(FakePump):
    """A pump that takes a write, then refuses every reading (a controller fault, say)."""

    def identify(self):
        if "write_program" in self.calls:
            raise PumpRefused("INTERNAL", "identify: controller fault", step="identify")
        return super().identify()


def test_a_write_whose_reading_after_is_refused_still_shows_what_was_written(qtbot, window):
    pump = RefusesToBeReadAfterAWrite(baclofen(150))
    review = review_write(read_pump(pump, clock=lambda: PUMP_TIME), baclofen(160), window.library, None)
    assert review.decision is Decision.PROCEED
    window.link._worker.driver = pump  # as if connected: the link's thread uses it from here on
    window.clinic.see_pump(pump.identify().serial, pump.identify().model, None)  # the test patient's, as if read
    with qtbot.waitSignal(window.link.finished, timeout=LINK_TIMEOUT_MS) as finished:
        window.link.request(Commit(review, window.clinic.visit))
    done = finished.args[1]
    assert done.result.outcome is Outcome.VERIFIED and done.snapshot is None
    assert isinstance(done.refresh_error, PumpRefused) and pump.active.checksum == baclofen(160).checksum()
    assert window.banner.title.text() == "Written and verified."
    assert window.banner.text.text() == ("The pump could not be interrogated again (pump refused (INTERNAL): "
                                         "identify: controller fault): reconnect to see what it runs.")


@pytest.mark.parametrize("error, title, text", [
    (AuditError("cannot write the audit log /a/audit.jsonl: Read-only file system", step="append to audit log"),
     "NOT WRITTEN.", "cannot write the audit log /a/audit.jsonl: Read-only file system."),
    (InputError([("clinician", "the clinician's name is required")]),
     "NOT WRITTEN.", "clinician: the clinician's name is required."),
    (LinkError("read program: no answer after 4 tries (timeout 0.6 s)", step="read program"),
     "UNCERTAIN: the link failed during the write.",
     f"read program: no answer after 4 tries (timeout 0.6 s). {AFTER_LINK_LOST}"),
    (ZeroDivisionError("division by zero"),
     "UNCERTAIN: an unexpected error stopped the write.",
     f"unexpected error (ZeroDivisionError: division by zero). {AFTER_LINK_LOST}"),
])
def test_a_failed_write_is_worded_from_the_kind_of_its_error(window, error, title, text):
    window.link.failed.emit(Commit(None, window.clinic.visit), Failure(error))
    assert (window.banner.title.text(), window.banner.text.text()) == (title, text)

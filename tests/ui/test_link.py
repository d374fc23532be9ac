"""The GUI link's requests: what each may do while it runs."""

from ui.link import Commit, Connect, Interrogate, ReadEvents, SetClock, StartEmulator


def test_only_reads_may_be_cancelled():
    """Stopping a write (a program, the clock) half way is what the two-phase write exists to avoid."""
    review = visit = None  # no Commit is run here: only its class's rule is read
    assert [r.cancellable for r in (Connect("socket://127.0.0.1:1"), Interrogate(), ReadEvents())] == [True] * 3
    assert [r.cancellable for r in (StartEmulator(), SetClock(visit), Commit(review, visit))] == [False] * 3

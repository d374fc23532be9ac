"""Who may commit what, asked by the commit itself: a role that may not make a change is refused before anything is
sent, whichever front end called, and the refusal is one audited outcome naming the user and the role.

Hand-made people (tests/support/people.py) and the in-memory pump: what was sent is the pump's own list of calls.
"""

from __future__ import annotations

from datetime import date

import pytest

from programmer import roles
from programmer.audit import read_audit_log
from programmer.bolus import review_bolus, review_demand, review_prime
from programmer.bolus_commit import commit_bolus, commit_cancel, commit_demand, commit_prime
from programmer.commit import commit_refill, commit_write
from programmer.errors import ErrorKind, PermissionRefused
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.program import Drug
from programmer.refill import RefillRequest, Syringe, review_refill
from programmer.review import review_write
from programmer.interrogation import read_pump
from programmer.roles import Permission, Role, User
from tests.support.bolus_situations import demand, pump, snapshot
from tests.support.fake_pump import PUMP_TIME, FakePump, baclofen
from tests.support.people import ADMINISTRATOR, DR_NG, TECHNICIAN, TESTER

LIBRARY = load_library()
READS = {"identify", "read_status", "read_program", "read_events", "bolus_status", "read_demand"}
"""The port's calls that change nothing on the pump."""
REASON = "discussed with the patient and the team"
BACLOFEN_500 = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500)


def read(source: FakePump):
    """Interrogate from a computer whose clock agrees with the pump's (no CLOCK_DRIFT to override)."""
    return read_pump(source, clock=lambda: PUMP_TIME)


def sent(source: FakePump) -> list[str]:
    """The calls that could have changed the pump."""
    return [call for call in source.calls if call not in READS]


def refused_record(audit) -> dict:
    [record] = read_audit_log(audit.path)
    assert (record["event"], record["outcome"]) == ("outcome", "refused")
    return record


def test_a_technician_may_not_write_nothing_is_sent_and_the_refusal_is_audited(audit):
    source = FakePump(baclofen(150))
    review = review_write(read(source), baclofen(160), LIBRARY)
    with pytest.raises(PermissionRefused) as refused:
        commit_write(source, review, TECHNICIAN, audit)
    assert refused.value.kind is ErrorKind.REFUSED
    assert str(refused.value) == ("Kim Tech (kim) is signed in as a technician, and a technician may not change "
                                  "therapy")
    assert sent(source) == []
    assert source.active.checksum == baclofen(150).checksum()
    record = refused_record(audit)
    assert (record["action"], record["clinician"], record["user"], record["role"]) == (
        "write", "Kim Tech", "kim", "technician")
    assert record["message"] == ("Kim Tech (kim) is signed in as a technician, and a technician may not change therapy"
                                 ": nothing was sent to the pump")
    assert record["old_program"]["checksum"] == baclofen(150).checksum()
    assert record["new_checksum"] == baclofen(160).checksum()


def test_the_role_is_asked_before_the_review_decides(audit):
    # A review refused by its own errors still says first that a technician may not write at all.
    source = FakePump(baclofen(150))
    review = review_write(read(source), baclofen(1500), LIBRARY)
    assert review.report.errors
    with pytest.raises(PermissionRefused, match="may not change therapy"):
        commit_write(source, review, TECHNICIAN, audit)
    assert sent(source) == [] and refused_record(audit)["role"] == "technician"


def test_a_technician_may_not_refill(audit):
    source = FakePump(baclofen(150), volume_ml=2.0)
    request = RefillRequest(2.0, 18.0, Syringe(BACLOFEN_500, "BX1", date(2099, 12, 31)))
    review = review_refill(read(source), request, LIBRARY)
    with pytest.raises(PermissionRefused, match="a technician may not refill"):
        commit_refill(source, review, TECHNICIAN, audit)
    assert sent(source) == [] and source.volume_ml == 2.0
    assert refused_record(audit)["action"] == "refill"


@pytest.mark.parametrize("user, words", [(TECHNICIAN, "a technician may not give or stop a bolus"),
                                         (TESTER, "a tester may not give or stop a bolus"),
                                         (ADMINISTRATOR, "an administrator may not give or stop a bolus")])
def test_only_a_clinician_gives_a_bolus(audit, user, words):
    source = pump()
    with pytest.raises(PermissionRefused, match=words):
        commit_bolus(source, review_bolus(snapshot(source), 30, 30, LIBRARY), user, audit)
    assert sent(source) == []
    record = refused_record(audit)
    assert (record["action"], record["user"], record["role"]) == ("bolus", user.username, user.role.value)
    assert record["bolus"]["bolus_id"].startswith("b-")


def test_a_technician_may_not_prime_set_a_demand_dose_or_cancel_a_bolus(audit):
    source = pump().implanted(60.0)
    with pytest.raises(PermissionRefused):
        commit_prime(source, review_prime(snapshot(source), 60, "implant", LIBRARY), TECHNICIAN, audit)
    with pytest.raises(PermissionRefused):
        commit_demand(source, review_demand(snapshot(source), demand(), LIBRARY), TECHNICIAN, audit)
    with pytest.raises(PermissionRefused):
        commit_cancel(source, None, TECHNICIAN, audit)  # no bolus runs: refused all the same
    assert sent(source) == []
    assert [(r["action"], r["outcome"]) for r in read_audit_log(audit.path)] == [
        ("prime", "refused"), ("demand", "refused"), ("cancel_bolus", "refused")]


def test_an_override_needs_the_override_permission(audit, monkeypatch):
    # A role that may change therapy but not override soft limits: none ships, so one is made for this test.
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, Role.TESTER,
                        roles.ROLE_PERMISSIONS[Role.TESTER] | {Permission.CHANGE_THERAPY})
    source = FakePump(baclofen(150))
    warned = review_write(read(source), baclofen(200), LIBRARY, REASON)
    assert warned.report.warnings and not warned.report.errors
    with pytest.raises(PermissionRefused, match="a tester may not override a soft limit"):
        commit_write(source, warned, TESTER, audit)
    assert sent(source) == [] and refused_record(audit)["override_reason"] == REASON
    # Without warnings there is nothing to override: the same role writes.
    quiet = review_write(read(source), baclofen(160), LIBRARY)
    assert commit_write(source, quiet, TESTER, audit).outcome is Outcome.VERIFIED


def test_a_tester_may_not_override_or_write(audit):
    source = FakePump(baclofen(150))
    review = review_write(read(source), baclofen(200), LIBRARY, REASON)
    with pytest.raises(PermissionRefused, match="a tester may not change therapy"):
        commit_write(source, review, TESTER, audit)
    assert sent(source) == []


def test_a_clinicians_commit_records_the_user_and_role(audit):
    source = FakePump(baclofen(150))
    result = commit_write(source, review_write(read(source), baclofen(160), LIBRARY), DR_NG, audit)
    assert result.outcome is Outcome.VERIFIED
    attempt, outcome = read_audit_log(audit.path)
    for record in (attempt, outcome):
        assert (record["clinician"], record["user"], record["role"]) == ("Dr Ng", "ng", "clinician")
        assert record["old_program"]["checksum"] == baclofen(150).checksum()


def test_an_action_no_permission_is_listed_for_is_refused():
    with pytest.raises(PermissionRefused, match="no role may do 'explode'"):
        roles.require_action(User("x", "X", Role.ADMINISTRATOR), "explode")


def test_a_change_over_an_allowed_insecure_link_needs_its_permission_too(audit, monkeypatch):
    source = FakePump(baclofen(150))
    source.secure, source.allow_insecure_link = False, True  # a version-1 pump, the insecure link allowed
    assert source.insecure_changes
    review = review_write(read(source), baclofen(160), LIBRARY)
    with pytest.raises(PermissionRefused, match="a clinician may not use a link that is not encrypted"):
        commit_write(source, review, DR_NG, audit)
    assert sent(source) == [] and refused_record(audit)["user"] == "ng"
    # No shipped role holds both permissions; one made for this test writes over the link.
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, Role.CLINICIAN,
                        roles.ROLE_PERMISSIONS[Role.CLINICIAN] | {Permission.INSECURE_LINK})
    assert commit_write(source, review, DR_NG, audit).outcome is Outcome.VERIFIED


def test_an_insecure_link_not_allowed_is_left_to_the_driver_to_refuse():
    source = FakePump(baclofen(150))
    source.secure = False  # not allowed: nothing that changes it is sent (LinkNotSecure), whoever asks
    assert not source.insecure_changes
    roles.require_link(DR_NG, source.insecure_changes)  # so the role is not asked about the link
    with pytest.raises(PermissionRefused, match="a technician may not use a link that is not encrypted"):
        roles.require_link(TECHNICIAN, True)
    roles.require_link(TESTER, True)

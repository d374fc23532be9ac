"""The audit log: where it lives, that every line is whole, appended and fsynced before append() returns."""

import json
import os
from pathlib import Path

import pytest

from programmer.errors import AuditError
from programmer import audit as audit_module
from programmer.audit import AUDIT_FORMAT, AuditLog, default_audit_path, read_audit_log


def test_records_are_appended_one_json_line_each(tmp_path):
    path = tmp_path / "logs" / "audit.jsonl"
    log = AuditLog(path)
    log.append({"action": "write", "clinician": "Dr Ng", "outcome": "verified"})
    log.append({"action": "refill", "clinician": "Dr Åsa Berg", "outcome": "refused"})
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    ids = [record.pop("record_id") for record in records]
    assert records == [
        {"format": AUDIT_FORMAT, "action": "write", "clinician": "Dr Ng", "outcome": "verified"},
        {"format": AUDIT_FORMAT, "action": "refill", "clinician": "Dr Åsa Berg", "outcome": "refused"},
    ]
    assert all(len(record_id) == 32 and int(record_id, 16) >= 0 for record_id in ids) and ids[0] != ids[1]


def test_a_record_keeps_the_record_id_it_has(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append({"record_id": "given-1", "n": 1})
    assert read_audit_log(log.path) == [{"format": AUDIT_FORMAT, "record_id": "given-1", "n": 1}]


def test_the_log_is_readable_by_its_user_only_new_or_found_otherwise(tmp_path):
    AuditLog(tmp_path / "new.jsonl")
    found = tmp_path / "found.jsonl"
    found.write_text("")
    found.chmod(0o644)
    AuditLog(found)
    assert [oct(path.stat().st_mode & 0o777) for path in (tmp_path / "new.jsonl", found)] == ["0o600", "0o600"]


def test_existing_records_are_never_rewritten(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text('{"format":"itb-audit/1","n":1}\n', encoding="utf-8")
    before = path.read_bytes()
    AuditLog(path).append({"n": 2})
    assert path.read_bytes().startswith(before)
    assert [record["n"] for record in read_audit_log(path)] == [1, 2]


def test_each_record_is_fsynced_before_append_returns(tmp_path, monkeypatch):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    synced: list[tuple[int, bytes]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        synced.append((os.fstat(fd).st_ino, path.read_bytes()))

    monkeypatch.setattr(audit_module.os, "fsync", spy)
    log.append({"n": 1, "record_id": "r1"})
    # fsynced on the audit file itself, which by then held the whole line
    assert synced == [(path.stat().st_ino, b'{"format":"itb-audit/1","n":1,"record_id":"r1"}\n')]


def test_a_torn_last_line_is_skipped_but_a_damaged_middle_is_not(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text('{"n":1}\n{"n":2}\n{"n":', encoding="utf-8")
    assert read_audit_log(path) == [{"n": 1}, {"n": 2}]
    path.write_text('{"n":1}\nnot json\n{"n":3}\n', encoding="utf-8")
    with pytest.raises(json.JSONDecodeError):
        read_audit_log(path)


def test_an_unwritable_location_is_reported_when_opened(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(AuditError, match="cannot write the audit log") as failed:
        AuditLog(blocker / "audit.jsonl")
    assert (failed.value.step, failed.value.field) == ("open audit log", None)


def test_non_finite_numbers_are_refused_not_written(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(ValueError):
        log.append({"volume_ml": float("nan")})
    assert (tmp_path / "audit.jsonl").read_text() == ""


def test_location_env_first_then_state_dir(tmp_path):
    assert default_audit_path({"ITB_AUDIT_LOG": "/x/a.jsonl", "XDG_STATE_HOME": "/s"}) == Path("/x/a.jsonl")
    assert default_audit_path({"XDG_STATE_HOME": "/s", "HOME": "/h"}) == Path("/s/itb-programmer/audit.jsonl")
    assert default_audit_path({"HOME": "/h"}) == Path("/h/.local/state/itb-programmer/audit.jsonl")

"""The audit trail: records numbered without gaps and chained by SHA-256; each kind of tampering found at the record
where it was made; the journal reconciled once; two workstations appending at once making one chain."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from clinic.audit_trail import ChainCheck
from clinic.store import Store, open_store
from programmer.audit import AuditLog
from programmer.errors import InputError

ZEROS = "0" * 64


@pytest.fixture
def store(empty_store_url):
    """A store whose chain is empty: no users or patients, whose changes the chain mirrors (tests/clinic/test_mirror.py
    covers those)."""
    opened = open_store(empty_store_url)
    yield opened
    opened.close()


def record(n: int, **extra) -> dict:
    return {"record_id": f"r{n}", "time": f"2026-03-0{1 + n % 9}T10:00:00+01:00", "action": "write",
            "event": "attempt" if n % 2 else "outcome", "user": "osei" if n % 3 else "kim",
            "patient": "TEST-0001" if n < 4 else "P-2", "session_id": f"s{n // 2}", "pump_serial": "EMU-1",
            "note": "Åsa"} | extra


def filled(store: Store, count: int = 6) -> Store:
    for n in range(1, count + 1):
        assert store.audit.append(record(n)) == n
    return store


def sql(store: Store, *statements: str) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_the_first_hash_covers_64_zeros_the_seq_and_the_canonical_body(store):
    store.audit.append({"record_id": "r1", "b": 1.5, "a": "Åsa", "time": "2026-03-01T10:00:00+01:00"})
    body = '{"a":"Åsa","b":1.5,"record_id":"r1","time":"2026-03-01T10:00:00+01:00"}'
    first = hashlib.sha256((ZEROS + "\n1\n" + body).encode()).hexdigest()
    [entry] = store.audit.query()
    assert (entry.seq, entry.hash) == (1, first)
    store.audit.append({"record_id": "r2"})
    second = hashlib.sha256((first + '\n2\n{"record_id":"r2"}').encode()).hexdigest()
    assert store.audit.verify() == ChainCheck(True, 2, second, None, None,
                                              f"the audit trail is intact: 2 records, head hash {second}")
    assert store.audit.head() == (2, second)


def test_a_record_id_is_stored_once_and_a_record_without_one_or_with_nan_is_refused(store):
    filled(store, 3)
    assert store.audit.append(record(2, note="sent again")) == 2
    assert [entry.record["note"] for entry in store.audit.query()] == ["Åsa"] * 3
    with pytest.raises(InputError, match="^record_id: an audit record needs a record_id"):
        store.audit.append({"action": "write"})
    with pytest.raises(InputError, match="^record: an audit record must be plain JSON"):
        store.audit.append({"record_id": "r9", "volume_ml": float("nan")})
    assert store.audit.verify().records == 3


def test_an_empty_trail_is_intact(store):
    assert store.audit.head() == (0, ZEROS)
    assert store.audit.verify() == ChainCheck(True, 0, ZEROS, None, None,
                                              f"the audit trail is intact: 0 records, head hash {ZEROS}")


def test_queries_filter_by_patient_user_action_session_and_time(store):
    filled(store)
    store.audit.append(record(7, action="refill"))
    seqs = lambda **filters: [entry.seq for entry in store.audit.query(**filters)]  # noqa: E731
    assert seqs(patient="TEST-0001") == [1, 2, 3]
    assert seqs(username="kim") == [3, 6]
    assert seqs(action="refill") == [7]
    assert seqs(session_id="s1") == [2, 3]
    # record n is at 2026-03-0(1 + n) 10:00 +01:00, 09:00 UTC
    assert seqs(since=datetime(2026, 3, 4, 9, tzinfo=timezone.utc),
                until=datetime(2026, 3, 6, 9, tzinfo=timezone.utc)) == [3, 4, 5]
    assert store.audit.query(patient="P-2", action="write")[0].record == record(4)


# The tamperings, each as someone with write access to the database would do it, on six records.

def edit_a_body(store: Store) -> None:
    sql(store, "UPDATE audit_records SET body = replace(body, 'Åsa', 'Eve') WHERE seq = 3")


def delete_a_row(store: Store) -> None:
    sql(store, "DELETE FROM audit_records WHERE seq = 3")


def delete_a_row_and_renumber(store: Store) -> None:
    sql(store, "DELETE FROM audit_records WHERE seq = 3", *(f"UPDATE audit_records SET seq = {n - 1} WHERE seq = {n}"
                                                            for n in (4, 5, 6)),
        "UPDATE audit_head SET seq = 5")


def swap_two_rows(store: Store) -> None:
    sql(store, "UPDATE audit_records SET seq = -2 WHERE seq = 2", "UPDATE audit_records SET seq = 2 WHERE seq = 4",
        "UPDATE audit_records SET seq = 4 WHERE seq = -2")


def insert_a_forged_row(store: Store) -> None:
    """A forger who knows the rule: renumbers records 3 to 6, puts a record at 3 chained to record 2, and moves the
    head to the end; every hash of the forged record is right."""
    with store.engine.begin() as connection:
        for n in (6, 5, 4, 3):
            connection.execute(text(f"UPDATE audit_records SET seq = {n + 1} WHERE seq = {n}"))
        prev = connection.execute(text("SELECT hash FROM audit_records WHERE seq = 2")).scalar_one()
        body = json.dumps({"record_id": "forged", "event": "outcome", "outcome": "verified"}, sort_keys=True,
                          separators=(",", ":"))
        digest = hashlib.sha256(f"{prev}\n3\n{body}".encode()).hexdigest()
        connection.execute(text("INSERT INTO audit_records (seq, record_id, time, action, event, body, prev_hash, hash)"
                                " VALUES (3, 'forged', '2026-03-04 09:00:00+00:00', 'write', 'outcome', :body, :prev,"
                                " :hash)"), {"body": body, "prev": prev, "hash": digest})
        last = connection.execute(text("SELECT hash FROM audit_records WHERE seq = 7")).scalar_one()
        connection.execute(text("UPDATE audit_head SET seq = 7, hash = :hash"), {"hash": last})


def prepend_a_forged_row(store: Store) -> None:
    """The attack of issue 14: a forged 'verified' record before the first, with a wrong hash."""
    sql(store, *(f"UPDATE audit_records SET seq = {n + 1} WHERE seq = {n}" for n in (6, 5, 4, 3, 2, 1)),
        "INSERT INTO audit_records (seq, record_id, time, action, event, body, prev_hash, hash) VALUES (1, 'x', "
        f"'2026-01-01 00:00:00+00:00', 'write', 'outcome', '{{}}', '{ZEROS}', '{'a' * 64}')")


def append_without_the_head(store: Store) -> None:
    prev = store.audit.query()[-1].hash
    body = '{"record_id":"late"}'
    digest = hashlib.sha256(f"{prev}\n7\n{body}".encode()).hexdigest()
    sql(store, "INSERT INTO audit_records (seq, record_id, time, action, event, body, prev_hash, hash) VALUES (7, "
               f"'late', '2026-01-01 00:00:00+00:00', '', '', '{body}', '{prev}', '{digest}')")


def truncate_the_tail(store: Store) -> None:
    sql(store, "DELETE FROM audit_records WHERE seq >= 5")


def edit_and_rehash_one(store: Store) -> None:
    """Record 3 changed and its own hash recomputed (record 4 still names the old one)."""
    with store.engine.begin() as connection:
        prev = connection.execute(text("SELECT hash FROM audit_records WHERE seq = 2")).scalar_one()
        body = '{"record_id":"r3","outcome":"verified"}'
        connection.execute(text("UPDATE audit_records SET body = :body, hash = :hash WHERE seq = 3"),
                           {"body": body, "hash": hashlib.sha256(f"{prev}\n3\n{body}".encode()).hexdigest()})


TAMPERINGS = [
    (edit_a_body, 3, "edited", "record 3 was changed after it was written: its hash "),
    (edit_and_rehash_one, 3, "edited", "record 3 was changed and its hash recomputed: record 4 was chained to a "
                                       "record 3 with the hash "),
    (delete_a_row, 3, "deleted", "record 3 is missing: record 4 follows record 2"),
    (delete_a_row_and_renumber, 3, "deleted", "record 3 was deleted and the records after it renumbered: the record "
                                              "now numbered 3 was written as record 4"),
    (swap_two_rows, 2, "reordered", "record 2 is out of place: the record stored there was written as record 4"),
    (insert_a_forged_row, 3, "inserted", "record 3 was inserted: the record now numbered 4 was written as record 3, "
                                         "chained to record 2"),
    (prepend_a_forged_row, 1, "inserted", "record 1 does not belong to the chain: the record after it was chained "
                                          "straight to record 0"),
    (append_without_the_head, 7, "inserted", "record 7 was added after the head: the head says the chain ends at "
                                             "record 6, and 1 more follow it"),
    (truncate_the_tail, 5, "truncated", "records 5 to 6 are missing from the end: the head says the chain ends at "
                                        "record 6, the last one stored is record 4"),
]


@pytest.mark.parametrize("tamper, seq, problem, words", TAMPERINGS, ids=[entry[0].__name__ for entry in TAMPERINGS])
def test_tampering_is_found_at_its_record(store, tamper, seq, problem, words):
    filled(store)
    tamper(store)
    check = store.audit.verify()
    assert (check.intact, check.first_bad_seq, check.problem) == (False, seq, problem)
    assert check.message.startswith(words), check.message


def test_the_journal_is_reconciled_into_the_store_once_in_its_order(store, tmp_path):
    journal = AuditLog(tmp_path / "audit.jsonl")
    store.audit.append({"format": "itb-audit/1", **record(1)})
    for n in (1, 2, 3):
        journal.append(record(n))
    journal.append({"action": "write", "from": "before the store"})  # gets a record_id from the journal itself
    assert store.audit.reconcile(journal.path) == 3
    assert [entry.record["record_id"] for entry in store.audit.query()][:3] == ["r1", "r2", "r3"]
    assert store.audit.reconcile(journal.path) == 0
    assert store.audit.reconcile(tmp_path / "none.jsonl") == 0
    assert store.audit.verify().intact and store.audit.verify().records == 5
    *reconciled, summary = [entry.record for entry in store.audit.query()][1:]
    assert [record["reconciled"]["by"] for record in reconciled] == [None, None, None]
    assert (summary["action"], summary["records"], summary["journal_sha256"]) == (
        "audit_reconciled", 3, hashlib.sha256(journal.path.read_bytes()).hexdigest())


def journal_of(tmp_path, count: int) -> AuditLog:
    journal = AuditLog(tmp_path / "audit.jsonl")
    for n in range(1, count + 1):
        journal.append(record(n))
    return journal


def actions_of(store: Store) -> list[str]:
    return [entry.record["action"] for entry in store.audit.query()]


def test_a_reconcile_reads_only_what_follows_the_last_one(store, tmp_path):
    journal = journal_of(tmp_path, 3)
    assert store.audit.reconcile(journal.path) == 3
    reconciled_to = journal.path.stat().st_size
    saved = json.loads((tmp_path / "audit.jsonl.reconciled").read_text())
    assert (saved["offset"], saved["record_id"]) == (reconciled_to, "r3")
    assert (tmp_path / "audit.jsonl.reconciled").stat().st_mode & 0o777 == 0o600
    # the first line overwritten in place (same length) with what is no JSON: a whole read would refuse the journal
    data = journal.path.read_bytes()
    first = data.index(b"\n")
    journal.path.write_bytes(b"x" * first + data[first:])
    journal.append(record(4))
    assert store.audit.reconcile(journal.path) == 1
    summary = store.audit.query()[-1].record
    assert (summary["action"], summary["records"], summary["read_from"]) == ("audit_reconciled", 1, reconciled_to)
    assert store.audit.reconcile(journal.path) == 0 and "audit_journal_changed" not in actions_of(store)


@pytest.mark.parametrize("keep, what", [(1, "truncated: "), (3, "rewritten: ")])
def test_a_journal_truncated_or_rewritten_behind_its_position_is_read_whole_and_that_is_recorded(store, tmp_path,
                                                                                                 keep, what):
    journal = journal_of(tmp_path, 3)
    assert store.audit.reconcile(journal.path) == 3
    lines = journal.path.read_bytes().split(b"\n")[:keep]
    journal.path.write_bytes(b"\n".join(lines) + b"\n")  # the journal cut back (or its last line replaced, below)
    if keep == 3:
        journal.path.write_bytes(journal.path.read_bytes().replace(b'"r3"', b'"r9"'))
    journal.append(record(5))
    assert store.audit.reconcile(journal.path) == (2 if keep == 3 else 1)  # r9 and r5, or r5: r1 to r3 are stored
    changed = [entry.record for entry in store.audit.query(action="audit_journal_changed")]
    assert [record["what"].startswith(what) for record in changed] == [True]
    assert store.audit.query()[-1].record["read_from"] == 0 and store.audit.verify().intact


def test_a_position_saved_for_another_store_is_not_trusted(store, tmp_path):
    journal = journal_of(tmp_path, 2)
    assert store.audit.reconcile(journal.path) == 2
    other = open_store(f"sqlite:///{tmp_path}/other.sqlite3")
    assert other.audit.reconcile(journal.path) == 2  # read whole: the store lacks the position's last record
    assert "audit_journal_changed" not in actions_of(other)
    other.close()


APPENDS_EACH = 25


def test_two_workstations_appending_at_once_make_one_intact_chain(empty_store_url):
    workstations = [open_store(empty_store_url), open_store(empty_store_url)]
    start = threading.Barrier(len(workstations))
    failures: list[BaseException] = []

    def append_all(store: Store, name: str) -> None:
        try:
            start.wait(timeout=30)
            for n in range(APPENDS_EACH):
                store.audit.append({"record_id": f"{name}-{n}", "workstation": name})
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=append_all, args=(store, f"ws{i}")) for i, store in enumerate(workstations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and not any(thread.is_alive() for thread in threads)
    check = workstations[0].audit.verify()
    assert (check.intact, check.records) == (True, 2 * APPENDS_EACH), check.message
    entries = workstations[1].audit.query()
    assert [entry.seq for entry in entries] == list(range(1, 2 * APPENDS_EACH + 1))
    for name in ("ws0", "ws1"):  # each workstation's records in the order it appended them
        assert [e.record["record_id"] for e in entries if e.record["workstation"] == name] == [
            f"{name}-{n}" for n in range(APPENDS_EACH)]
    for store in workstations:
        store.close()

"""How long a visit's reconcile of the audit journal takes when the journal holds 10,000 records, all in the store.

    .venv/bin/python benchmarks/journal_reconcile.py [RECORDS]

Every visit (``clinic.visit.Visit``) reconciles the workstation's journal into the clinic store first, so its cost
is paid at every command that changes a pump and at every visit the application starts. A busy workstation's journal
grows by a few records a change for years. This script makes a SQLite store holding RECORDS (default 10,000) audit
records of realistic size (a write's attempt and outcome records, about 1 kB each) and a journal of the same
records, then times:

1. the first reconcile (nothing recorded of where the last one ended: the journal is read whole);
2. a reconcile with nothing new (what every later visit pays);
3. a reconcile after one new record was appended to the journal (the store failed once).

It prints the median of several runs of each, and whether the repeated reconcile reads only what is new (it must be
under a tenth of the first). Timing alone never fails the run: the exit status is non-zero only when a record is
missing from the store afterwards.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clinic.audit_trail import append_in  # noqa: E402
from clinic.database import Database  # noqa: E402
from clinic.store import open_store  # noqa: E402
from programmer.audit import AuditLog  # noqa: E402

PROGRAM = {"drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500.0},
           "therapy": {"mode": "flex", "cycle_days": 1,
                       "steps": [{"start": f"{hour:02d}:00", "dose_per_hour": 6.25} for hour in range(0, 24, 3)]},
           "checksum": "a" * 64}


def record(number: int) -> dict:
    """An attempt or outcome record of a write, as a visit writes it (about 1 kB)."""
    return {"format": "itb-audit/1", "record_id": uuid.uuid4().hex, "time": "2026-12-04T10:00:00.000+01:00",
            "attempt_id": f"{number // 2:032x}", "action": "write", "event": ("attempt", "outcome")[number % 2],
            "clinician": "Dr A. Osei", "user": "osei", "role": "clinician", "session_id": "5e55" * 8,
            "patient": "MRN-1234", "pump_serial": "E20-4F5F3C", "pump_model": "ITB-20",
            "pump_time": "2026-12-04T10:00:00", "low_alarm_ml": 2.0, "old_checksum": "b" * 64,
            "old_program": PROGRAM, "new_checksum": "c" * 64, "findings": [], "override_reason": None,
            "library": {"name": "ITB default drug library", "version": "1", "sha256": "d" * 64},
            "outcome": None if number % 2 == 0 else "verified", "program": PROGRAM}


def median_s(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(f"sqlite:///{directory}/clinic.sqlite3")
        journal = Path(directory) / "audit.jsonl"
        records = [record(number) for number in range(count)]
        journal.write_text("".join(json.dumps(each) + "\n" for each in records), encoding="utf-8")
        journal.chmod(0o600)
        with Database.on(store.engine).write() as session:
            for each in records:
                append_in(session, each)
        print(f"journal: {count} records, {journal.stat().st_size / 1e6:.1f} MB")
        first = median_s(lambda: store.audit.reconcile(journal), 1)
        again = median_s(lambda: store.audit.reconcile(journal), 5)

        def one_new() -> None:
            AuditLog(journal).append(record(1) | {"record_id": uuid.uuid4().hex})
            assert store.audit.reconcile(journal) == 1

        new = median_s(one_new, 5)
        stored = len(store.audit.query(action="write"))
        store.close()
    print(f"first reconcile (whole journal):   {first * 1000:8.1f} ms")
    print(f"reconcile, nothing new:            {again * 1000:8.1f} ms")
    print(f"reconcile, one new record:         {new * 1000:8.1f} ms (appending it included)")
    verdict = "yes" if again < first / 10 else "NO"
    print(f"reads only what is new: {verdict} (nothing new: {again / first:.1%} of the first)")
    if stored != count + 5:
        print(f"MISSING: {count + 5} write records expected in the store, {stored} found")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

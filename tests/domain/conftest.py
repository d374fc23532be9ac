"""What the domain's commit tests share: an audit log of the test's own."""

from __future__ import annotations

import pytest

from programmer.audit import AuditLog


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")

"""The people the domain's tests commit as: one of each role, built by hand (no store), so a test of a commit says
who made it and the audit's ``clinician``, ``user`` and ``role`` can be compared with hand-written values."""

from __future__ import annotations

from programmer.roles import Role, User

DR_NG = User("ng", "Dr Ng", Role.CLINICIAN)
TECHNICIAN = User("kim", "Kim Tech", Role.TECHNICIAN)
TESTER = User("tess", "Tess Tester", Role.TESTER)
ADMINISTRATOR = User("ada", "Ada Admin", Role.ADMINISTRATOR)

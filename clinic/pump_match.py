"""What a pump read is to a visit: bound to its patient, to nobody yet, to another patient, or not the visit's pump.

Why a module of its own: the application asks this of every reading, and its window imports it while it starts;
``clinic.visit``, which decides it, brings the store and SQLAlchemy with it, which the window opens in a thread of
its own after it shows (``ui.clinic_session``).
"""

from __future__ import annotations

import enum


class PumpMatch(enum.Enum):
    BOUND = "bound"                  # bound to this visit's patient (now set)
    UNKNOWN = "unknown"              # bound to nobody yet: ask which patient
    OTHER_PATIENT = "other_patient"  # bound to someone else: the hard stop
    OTHER_PUMP = "other_pump"        # not this visit's pump: the hard stop too (a visit is with one pump)

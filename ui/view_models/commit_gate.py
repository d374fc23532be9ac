"""What must be settled before a reviewed program may be written. No Qt.

A warning (a soft limit) can be overridden, but only deliberately: each one is acknowledged on its own and
given a reason, and the reasons go to the audit log as the override reason (``programmer.review`` refuses
a write with warnings and no reason). Errors cannot be overridden at all. The clinician's name, as signed in
(the signature: the audit records the signed-in user), and an explicit confirmation are required for every
write, and a program the pump already runs is no change to write: it would put a new line in the audit log,
with a reason, for nothing.

Each reason must say something, by the one rule the command line uses too
(``programmer.overrides.reason_problem``). A stop or a drop beyond the hard change limit needs the clinical
context besides (``programmer.overrides``): while the only errors are those a context settles, the gate asks
for the context rather than calling them hard limits; the page reviews again with the context chosen, and
the warnings that review brings are acknowledged one by one like any others.
"""

from __future__ import annotations

from dataclasses import dataclass

from programmer.checks import Finding
from programmer.overrides import REASON_RULE, reason_problem
from programmer.review import WriteReview
from ui.view_models.comparison import program_unchanged
from ui.view_models.wording import finding_text


@dataclass
class Acknowledgement:
    finding: Finding
    acknowledged: bool = False
    reason: str = ""


@dataclass
class CommitGate:
    review: WriteReview
    acknowledgements: list[Acknowledgement]
    clinician: str = ""
    confirmed: bool = False
    signer: tuple[str, ...] = ()
    """The signed-in user's display name and user name: the name typed must be one of them (empty: any name)."""

    @classmethod
    def for_review(cls, review: WriteReview) -> "CommitGate":
        return cls(review, [Acknowledgement(finding) for finding in review.report.warnings])

    def override_reason(self) -> str | None:
        """The reasons as one audit-log string ('CODE: reason; ...'), or None when nothing needed one."""
        if not self.acknowledgements:
            return None
        return "; ".join(f"{a.finding.code}: {a.reason.strip()}" for a in self.acknowledgements)

    def blockers(self) -> list[str]:
        """Why the write may not go ahead yet, in words; empty when it may. Warnings are named by their
        number on the page, never by their code (the codes are for the audit log and ``--json``)."""
        reasons = []
        if program_unchanged(self.review):
            reasons.append("the proposed program is the same as the pump's in every setting, so there is nothing "
                           "to write: go back to editing and change it")
        report = self.review.report
        if report.only_context_missing:
            reasons.append("choose the clinical context of this stop or drop: without one it is refused")
        else:
            reasons += [f"hard limit, no override: {finding_text(finding)}" for finding in report.errors]
        for number, item in enumerate(self.acknowledgements, 1):  # numbered as the Review page lists them
            if not item.acknowledged:
                reasons.append(f"tick \u201cAcknowledge warning {number}\u201d")
            elif not item.reason.strip():
                reasons.append(f"type a reason for warning {number}")
            elif reason_problem(item.reason) is not None:
                reasons.append(f"the reason for warning {number} says too little: a reason needs {REASON_RULE}")
        if not self.clinician.strip():
            reasons.append("enter the clinician's name")
        elif self.signer and not signs(self.clinician, self.signer):
            reasons.append(f"type your own name as you signed in ({self.signer[0]}): the change is recorded as "
                           "theirs")
        if not self.confirmed:
            reasons.append("tick the confirmation")
        return reasons

    @property
    def ready(self) -> bool:
        return not self.blockers()


def signs(typed: str, signer: tuple[str, ...]) -> bool:
    """True when ``typed`` is one of the signed-in user's names, spaces and letter case aside."""
    def plain(name: str) -> str:
        return " ".join(name.split()).casefold()
    return plain(typed) in {plain(name) for name in signer}

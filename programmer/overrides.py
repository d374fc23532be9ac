"""What an override must say to mean something: the rule for a reason, and the clinical contexts of a stop.

A soft limit is crossed only with a typed reason, and that reason is the one line a reviewer later reads to
understand why a pump was told to do something unusual. "x" or "." says nothing, yet both were accepted. So
a reason (``reason_problem``, the one rule the command line and the application share) must have

- at least ``MIN_REASON_CHARS`` characters (runs of spaces count as one, ends trimmed),
- at least ``MIN_REASON_WORDS`` words of two letters or more (so "..........", "1234567890" and "x" fail),
- at least ``MIN_DISTINCT_LETTERS`` different letters (so "aa aa aa aa" and "ab ab ab ab" fail).

It cannot tell sense from nonsense, but it does keep out an empty gesture: whoever overrides writes words.

**Clinical context.** Stopping a running delivery, or cutting the daily dose by more than the drug library's
hard change limit, can kill (abrupt withdrawal of intrathecal baclofen is life-threatening), yet each is
sometimes exactly right. Such a change is refused unless the clinician states why from a short list
(``CLINICAL_CONTEXTS``) as well as the free-text reason: a list, because a reviewer and a script can tell
the situations apart, and short, because each entry must be one a clinician recognises at once. There is
no "other": a situation the list does not name is not one in which to stop therapy from a programmer in a
hurry. The context is audited and printed with the write. It settles the stop or the drop only: a dose
that looks like a slip (``PROBABLE_UNIT_OR_DECIMAL_SLIP``) is still refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from programmer.errors import InputError

MIN_REASON_CHARS = 10
MIN_REASON_WORDS = 2
MIN_DISTINCT_LETTERS = 4
REASON_RULE = (f"at least {MIN_REASON_CHARS} characters, at least {MIN_REASON_WORDS} words of two or more "
               f"letters and at least {MIN_DISTINCT_LETTERS} different letters")
"""The rule in words, as every message about a reason states it."""


def reason_problem(reason: str) -> str | None:
    """Why ``reason`` cannot be an override reason (``REASON_RULE``, the value and what it lacks), or None when
    it can. The one rule for the command line and the application."""
    text = " ".join(reason.split())
    words = [word for word in "".join(c if c.isalpha() else " " for c in text).split() if len(word) >= 2]
    letters = {c.casefold() for c in text if c.isalpha()}
    lacks = []
    if len(text) < MIN_REASON_CHARS:
        lacks.append(f"{len(text)} character{'' if len(text) == 1 else 's'}")
    if len(words) < MIN_REASON_WORDS:
        lacks.append(f"{len(words)} word{'' if len(words) == 1 else 's'} of two or more letters")
    if len(letters) < MIN_DISTINCT_LETTERS:
        lacks.append(f"{len(letters)} different letter{'' if len(letters) == 1 else 's'}")
    if not lacks:
        return None
    return f"{text!r} is not a reason: it has {', '.join(lacks)}; a reason needs {REASON_RULE}"


def clean_reason(reason: str | None, field: str = "override_reason") -> str | None:
    """An override reason as recorded (trimmed), None when none was given; InputError naming ``field`` when the
    reason breaks the rule."""
    if reason is None:
        return None
    problem = reason_problem(reason)
    if problem is not None:
        raise InputError([(field, problem)])
    return reason.strip()


@dataclass(frozen=True)
class ClinicalContext:
    """One situation in which stopping delivery, or a drop beyond the hard change limit, can be right."""

    key: str
    """Stable: what the command line takes and the audit log and ``--json`` keep."""
    label: str
    """What a clinician reads and picks."""
    why: str
    """Why the situation can call for a stop or a large drop."""

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label}


CLINICAL_CONTEXTS = (
    ClinicalContext("weaning_plan", "Weaning plan",
                    "a planned taper off intrathecal therapy (to oral drugs, or to none), agreed beforehand"),
    ClinicalContext("pump_explant", "Pump explant or replacement",
                    "the pump or catheter is to be removed or replaced (infection, failure, end of battery "
                    "life): delivery stops for the surgery"),
    ClinicalContext("intolerance", "Intolerance or side effects",
                    "adverse effects (sedation, hypotonia, confusion, nausea, psychiatric symptoms) that call for "
                    "a large reduction or a pause"),
    ClinicalContext("suspected_overdose", "Suspected overdose",
                    "signs of overdose (drowsiness, respiratory depression, coma): the drug labels say to stop or "
                    "reduce delivery at once"),
    ClinicalContext("end_of_life", "End-of-life care",
                    "the goals of care have changed to comfort, agreed with the patient or their family"),
)
"""The short list a stop or a large drop needs one of (module docstring); the order is the order shown."""


def clinical_context(key: str | None) -> ClinicalContext | None:
    """The context a key names (None for None); InputError naming ``clinical_context`` and the keys otherwise."""
    if key is None:
        return None
    found = next((context for context in CLINICAL_CONTEXTS if context.key == key.strip()), None)
    if found is None:
        keys = ", ".join(context.key for context in CLINICAL_CONTEXTS)
        raise InputError([("clinical_context", f"{key!r} is not a clinical context; it is one of: {keys}")])
    return found

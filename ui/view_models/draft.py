"""The program being edited, exactly as the clinician typed it, and what it means. No Qt.

Why text and not numbers: a half-typed dose ("1.", "") is a normal state of an editor, and the reason it
is not yet a dose has to be shown at the field. So the draft keeps the typed text, and ``evaluate`` turns
it into a program document (the strict ``programmer.program`` models decide what is valid) and then into
a ``WriteReview`` (``programmer.review.review_write``: the drug-library checks against the pump's own
limits and its current program). Every problem found on the way is attached to the field it is about.

A pump that runs nothing to compare a new program with (after a fill, a new drug, a long stop) needs what
the patient had before (``programmer.checks.PriorTherapy``): the draft keeps that answer as typed too, and
``Evaluation.question`` says when it is asked (``prior_question``), so the editor shows its fields only
then; an answer is used only while it is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from programmer.checks import NO_ANSWER, Finding, PriorTherapy, no_comparison
from programmer.errors import InputError
from programmer.snapshot import PumpSnapshot
from programmer.library import EntrySteps, LoadedLibrary
from programmer.planner import mean_daily_dose
from programmer.program import FORMAT, MINUTES_PER_DAY, Drug, Flex, Program, SimpleContinuous, program_from_data
from programmer.review import WriteReview, review_write
from ui.view_models.dose_entry import parse_dose
from ui.view_models.wording import finding_text, plain

Mode = Literal["stopped", "simple_continuous", "flex"]
MODE_LABELS: dict[str, str] = {
    "stopped": "Stopped (no delivery)",
    "simple_continuous": "Simple continuous (same rate all day)",
    "flex": "Flex (dose steps over a cycle)",
}

GENERAL = "program"
"""The field key for problems about the whole program (drug, reservoir) rather than one entry."""
DAILY_TOTAL = "daily_total"
"""The field key of the derived daily dose of a flex schedule: where daily-dose limits are shown for flex."""
PRIOR = "prior_therapy"
"""The field key of the answer about the patient's therapy before (the previous daily dose, new to it)."""


@dataclass(frozen=True)
class Problem:
    severity: Literal["error", "warning"]
    text: str
    code: str = ""


@dataclass
class StepText:
    """One flex step as typed: the day of the cycle, the start (HH:MM) and the dose per hour."""

    day: int = 1
    start: str = "00:00"
    dose_per_hour: str = ""

    def offset_minutes(self) -> int | None:
        """Minutes from the cycle start, or None while the start is not a valid HH:MM."""
        match = re.fullmatch(r"(\d{2}):(\d{2})", self.start.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            return None
        return (self.day - 1) * MINUTES_PER_DAY + int(match[1]) * 60 + int(match[2])


@dataclass
class Draft:
    """The editor's state. The drug is the pump's and cannot be edited: a new drug is a refill."""

    drug: Drug
    mode: Mode = "simple_continuous"
    daily_dose: str = ""
    cycle_days: int = 1
    steps: list[StepText] = field(default_factory=lambda: [StepText()])
    previous_daily_dose: str = ""
    """The patient's daily dose before this program, as typed (from the chart or the old pump)."""
    new_to_itb: bool = False
    """The patient is new to intrathecal therapy."""

    @classmethod
    def from_program(cls, program: Program) -> "Draft":
        """A draft equal to ``program``; both the simple and the flex entries are filled so that switching
        mode starts from the current therapy instead of from blank fields."""
        therapy = program.therapy
        if isinstance(therapy, Flex):
            steps = [StepText(s.day, s.start, _plain(s.dose_per_hour)) for s in therapy.steps]
            return cls(program.drug, "flex", _plain(mean_daily_dose(program)), therapy.cycle_days, steps)
        if isinstance(therapy, SimpleContinuous):
            steps = [StepText(1, "00:00", _plain(therapy.daily_dose / 24))]
            return cls(program.drug, "simple_continuous", _plain(therapy.daily_dose), 1, steps)
        return cls(program.drug, "stopped")

    @property
    def dose_unit(self) -> str:
        return self.drug.dose_unit

    # --- editing the flex table -------------------------------------------------------------------

    def add_step(self, after: int | None = None) -> int:
        """Insert a step after row ``after`` (default: the last), halfway to the next start, at the same
        dose; return its row. Halfway keeps the starts increasing whenever there is room between them."""
        after = len(self.steps) - 1 if after is None else after
        here = self.steps[after]
        begin = here.offset_minutes()
        following = self.steps[after + 1].offset_minutes() if after + 1 < len(self.steps) else None
        end = following if following is not None else self.cycle_days * MINUTES_PER_DAY
        new = StepText(here.day, here.start, here.dose_per_hour)
        if begin is not None and end - begin >= 2:
            middle = begin + (end - begin) // 2
            day, minute = divmod(middle, MINUTES_PER_DAY)
            new = StepText(day + 1, f"{minute // 60:02d}:{minute % 60:02d}", here.dose_per_hour)
        self.steps.insert(after + 1, new)
        return after + 1

    def remove_step(self, row: int) -> None:
        """Remove a row; the last remaining row stays (a flex program needs at least one step)."""
        if len(self.steps) > 1:
            del self.steps[row]

    def move_step(self, row: int, delta: int) -> int:
        """Swap a row with its neighbour (delta -1 up, +1 down); return where it went."""
        target = row + delta
        if not 0 <= target < len(self.steps):
            return row
        self.steps[row], self.steps[target] = self.steps[target], self.steps[row]
        return target

    # --- meaning ----------------------------------------------------------------------------------

    def to_document(self, entry: EntrySteps | None = None) -> tuple[dict | None, dict[str, list[Problem]]]:
        """The program document the draft spells, or None and the reason at each field that stops it.
        ``entry`` is the drug's entry steps from the library: a dose typed finer than its step stops it."""
        problems: dict[str, list[Problem]] = {}
        unit = self.dose_unit
        per_day, per_hour = (None, None) if entry is None else (entry.daily_dose, entry.dose_per_hour)
        if self.mode == "stopped":
            therapy: dict = {"mode": "stopped"}
        elif self.mode == "simple_continuous":
            daily = _parsed(self.daily_dose, f"{unit}/day", per_day, "daily_dose", problems)
            therapy = {"mode": "simple_continuous", "daily_dose": daily}
        else:
            steps = []
            for row, step in enumerate(self.steps):
                dose = _parsed(step.dose_per_hour, f"{unit}/h", per_hour, f"steps[{row}].dose_per_hour", problems)
                steps.append({"day": step.day, "start": step.start.strip(), "dose_per_hour": dose})
            therapy = {"mode": "flex", "cycle_days": self.cycle_days, "steps": steps}
        document = {"format": FORMAT, "drug": self.drug.model_dump(mode="json"), "therapy": therapy}
        return (None if problems else document), problems

    def prior_therapy(self) -> tuple[PriorTherapy, list[Problem]]:
        """The answer about the patient's therapy before, or no answer and why the typed one cannot be used."""
        dose = None
        text = self.previous_daily_dose.strip()
        if text:
            try:
                low = _none_or_less(text)
                dose = low if low is not None else parse_dose(text, f"{self.dose_unit}/day")
            except ValueError as exc:
                return NO_ANSWER, [Problem("error", f"The daily dose before: {exc}")]
        try:
            return PriorTherapy(dose, self.new_to_itb), []
        except InputError as exc:  # the dose's field is named here; the rule about both answers names them both
            return NO_ANSWER, [Problem("error", f"The daily dose before: {message}" if field == "previous_daily_dose"
                                       else plain(message)) for field, message in exc.problems]


@dataclass(frozen=True)
class Evaluation:
    """What the draft means now: the program (if valid), its review, and every problem by field."""

    program: Program | None
    review: WriteReview | None
    problems: dict[str, list[Problem]]
    entered: str | None = None
    """The daily dose exactly as typed (simple continuous mode), so screens can echo it beside the rounded
    figure: what was typed is what the clinician must recognise. None in the other modes."""
    question: str | None = None
    """Why the review needs what the patient had before (``prior_question``), in words; None when it does not."""

    @property
    def errors(self) -> list[str]:
        return [p.text for ps in self.problems.values() for p in ps if p.severity == "error"]

    @property
    def can_review(self) -> bool:
        """True when a program exists and no hard limit is broken but those a clinical context settles;
        warnings, and that context, are settled at review."""
        return self.program is not None and (not self.errors or self.context_at_review)

    @property
    def context_at_review(self) -> bool:
        """True when every error is one the clinical context of a stop or a large drop settles (the review's
        only errors, and nothing else wrong): the Review page asks for it (``programmer.overrides``)."""
        review = self.review
        return (review is not None and review.report.only_context_missing
                and len(self.errors) == len(review.report.errors))

    @property
    def warnings(self) -> list[Finding]:
        return [] if self.review is None else self.review.report.warnings

    def at(self, key: str) -> list[Problem]:
        return self.problems.get(key, [])


def evaluate(draft: Draft, snapshot: PumpSnapshot, library: LoadedLibrary) -> Evaluation:
    """Validate the draft (doses at the library's entry step for the drug), then check it against the pump it
    will be written to."""
    rule = library.rule_for(draft.drug.name)
    document, problems = draft.to_document(None if rule is None else rule.entry_step)
    question = None if draft.mode == "stopped" else prior_question(snapshot, library)
    prior = NO_ANSWER
    if question is not None:
        prior, unusable = draft.prior_therapy()
        for problem in unusable:
            _add(problems, PRIOR, problem)
    if document is None:
        return Evaluation(None, None, problems, question=question)
    try:
        program = program_from_data(document)
    except InputError as exc:
        for path, message in exc.problems:
            _add(problems, _input_key(path, message), Problem("error", message))
        return Evaluation(None, None, problems, question=question)
    review = review_write(snapshot, program, library, prior=prior)
    for finding in review.report.findings:
        _add(problems, finding_key(finding, draft.mode), Problem(finding.severity, finding_text(finding), finding.code))
    entered = draft.daily_dose.strip() if draft.mode == "simple_continuous" else None
    return Evaluation(program, review, problems, entered, question)


def prior_question(snapshot: PumpSnapshot, library: LoadedLibrary) -> str | None:
    """Why a program for this pump needs what the patient had before, in words (``programmer.checks``, first
    programs: the pump runs nothing to compare with); None when it does not, or its drug is not in the library
    (the checks refuse that anyway)."""
    program = snapshot.active.program
    rule = None if program is None else library.rule_for(program.drug.name)
    return None if rule is None else no_comparison(snapshot.stop(), rule)


def finding_key(finding: Finding, mode: str) -> str:
    """The editor field a check finding belongs to (the finding's ``field`` is a document path)."""
    path = finding.field
    if path == PRIOR:
        return PRIOR
    match = re.fullmatch(r"therapy\.steps\[(\d+)\]", path)
    if match:
        return f"steps[{match[1]}].dose_per_hour"
    if path in ("therapy.daily_dose", "therapy.cycle_days", "therapy.steps", "therapy.mode"):
        return {"therapy.steps": "steps", "therapy.mode": "mode"}.get(path, path.removeprefix("therapy."))
    if path == "therapy":
        return {"simple_continuous": "daily_dose", "flex": DAILY_TOTAL}.get(mode, "mode")
    return GENERAL


def _input_key(path: str, message: str) -> str:
    """The editor field for a validation problem. Whole-schedule rules (order of starts) are reported by
    the model on ``therapy`` with the step named in the message, so the row is read from there."""
    path = path.removeprefix("therapy.").removeprefix("therapy")
    if path:
        return path
    match = re.search(r"steps\[(\d+)\](\.day)?", message)
    if match:
        return f"steps[{match[1]}].{'day' if match[2] else 'start'}"
    return "steps"


def _parsed(text: str, unit: str, step: float | None, key: str, problems: dict[str, list[Problem]]) -> float | None:
    try:
        return parse_dose(text, unit, step)
    except ValueError as exc:
        _add(problems, key, Problem("error", str(exc)))
        return None


def _none_or_less(text: str) -> float | None:
    """A typed number of 0 or less as it is (the answer's own check says why it is no daily dose before); None
    for anything else, which ``parse_dose`` judges."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value <= 0 and "," not in text else None


def _add(problems: dict[str, list[Problem]], key: str, problem: Problem) -> None:
    problems.setdefault(key, []).append(problem)


def _plain(value: float) -> str:
    """A dose as it would be typed: no trailing zeros, at most 6 significant digits."""
    return f"{value:.6g}"

"""Check findings in the words a clinician uses. No Qt.

The domain's messages are written for the command line and the audit log: they name document fields
(``therapy.daily_dose``), codes and command-line options, which a script or a reviewer needs. A
clinician at the bedside needs the same fact without them. The code and the original message stay in
the audit log and in ``--json``; screens show ``finding_text``.

How: a few codes whose messages need more than plain field names (a flow that must read as a volume
per day, command-line advice, ISO dates) have a template in ``TEMPLATES``, filled from the numbers in
the message itself, so every figure is the one the check computed, never recomputed or re-rounded here.
Every other message, and any message a template does not match (a check's wording changed), is shown
with its field paths and command-line syntax replaced by plain words (``plain``): a sentence that reads a
little stiffly is better than one that loses a figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from programmer.checks import Finding
from ui.view_models.format import count, moment

# --- templates ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A message's shape (a full match, named groups for its parts) and the sentence made from them."""

    pattern: re.Pattern
    sentence: str


def _template(pattern: str, sentence: str) -> Template:
    return Template(re.compile(pattern), sentence)


_FLOW = (r"needs (?P<ml>\S+) mL/day, (?P<side>above|below) the (?P<model>.+) (?P<extreme>maximum|minimum) of "
         r"(?P<limit>\S+) mL/day")
_FLOW_SENTENCE = ("needs a volume of {ml} mL/day of drug solution, {side} the {model} pump's {extreme} of "
                  "{limit} mL/day")
_FLOW_TEMPLATES = (
    _template(r"therapy\.daily_dose " + _FLOW, "The daily dose " + _FLOW_SENTENCE),
    _template(r"therapy\.steps\[(?P<step>\d+)\] " + _FLOW, "The dose per hour of step {step} " + _FLOW_SENTENCE),
)
_CHANGE_24H = _template(
    r"daily dose changes by (?P<percent>\S+) % within (?P<window>.+?): (?P<baseline>\S+) (?P<unit>\S+) ran at "
    r"(?P<since>\S+) \(pump clock\), (?P<activations>\d+) program\(s\) activated since, now (?P<current>\S+) -> "
    r"(?P<new>\S+) (?P=unit), (?P<limit>beyond the .+)",
    "Within {window} the daily dose changes by {percent} %: {baseline} {unit} ran at {since} (pump clock) and "
    "{activations} since; this change goes from {current} to {new} {unit}, {limit}")

_ENTRY_STEP = (r" (?P<dose>\S+) (?P<unit>\S+) is finer than the (?P<size>\S+) (?P=unit) this library allows "
               r"for (?P<drug>.+): type it in steps of (?P=size) (?P=unit)")
_ENTRY_STEP_SENTENCE = ("has more decimal places than the drug library allows for {drug}: it is entered in steps of "
                        "{size} {unit}")
_ENTRY_STEP_TEMPLATES = (
    _template(r"daily dose" + _ENTRY_STEP, "The daily dose {dose} {unit} " + _ENTRY_STEP_SENTENCE),
    _template(r"therapy\.steps\[(?P<step>\d+)\] dose per hour" + _ENTRY_STEP,
              "The dose per hour of step {step}, {dose} {unit}, " + _ENTRY_STEP_SENTENCE),
)

TEMPLATES: dict[str, tuple[Template, ...]] = {
    "FLOW_ABOVE_PUMP_MAX": _FLOW_TEMPLATES,
    "FLOW_BELOW_PUMP_MIN": _FLOW_TEMPLATES,
    "CHANGE_24H_ABOVE_SOFT_LIMIT": (_CHANGE_24H,),
    "CHANGE_24H_ABOVE_HARD_LIMIT": (_CHANGE_24H,),
    "DOSE_FINER_THAN_ENTRY_STEP": _ENTRY_STEP_TEMPLATES,
    "CLOCK_DRIFT": (_template(
        r"the pump clock is (?P<drift>.+?) (?P<side>ahead of|behind) this computer's \(pump (?P<pump_time>\S+), "
        r"this computer (?P<computer_time>\S+)\), more than (?P<limit>.+?): (?P<why>.+?)\. Set the pump clock to .*",
        "The pump clock is {drift} {side} this computer's (pump {pump_time}, this computer {computer_time}), more "
        "than {limit}: {why}. Set the clock first with \"Set the pump clock to this computer's time\" on the "
        "Overview, then interrogate again"),),
    "PUMP_HAS_NO_DRUG": (_template(r"the pump holds no drug: .*",
                                   "The pump holds no drug: name the drug at a refill to fill it"),),
    "NO_PROGRAM_TO_COMPARE": (_template(
        r"the pump runs no program to compare the new daily dose (?P<dose>\S+) (?P<unit>\S+) with \((?P<why>.+)\): "
        r"give the daily dose .*",
        "The pump runs no program to compare the new daily dose {dose} {unit} with ({why}): type the patient's daily "
        "dose before this program (from the chart or the old pump), or tick that the patient is new to intrathecal "
        "therapy"),),
    "PUMP_NOT_DELIVERING": (_template(
        r"the pump is not delivering \(critical alarm [a-z_, ]+: (?P<reasons>.+)\): (?P<rest>the program will not .+)",
        "The pump is not delivering ({reasons}): {rest}"),),
}
"""The codes whose messages are rebuilt; every other code reads well once ``plain`` has done its work."""


def _moment_of(iso: str) -> str:
    return moment(datetime.fromisoformat(iso))


def _activated(number: str) -> str:
    n = int(number)
    return f"{count(n, 'program')} {'has' if n == 1 else 'have'} been activated"


PARTS: dict[str, Callable[[str], str]] = {
    "step": lambda index: str(int(index) + 1),  # steps[0] is the first step a clinician counts
    "since": _moment_of,
    "pump_time": _moment_of,
    "computer_time": _moment_of,
    "activations": _activated,
}
"""How a captured part of a message is said on screen, by group name (others are shown as captured)."""


def _filled(template: Template, match: re.Match) -> str:
    return template.sentence.format(**{name: PARTS.get(name, str)(value) for name, value in match.groupdict().items()})


# --- plain words for what is left ----------------------------------------------------------------------

FIELD_WORDS: tuple[tuple[re.Pattern, str | Callable[[re.Match], str]], ...] = (
    (re.compile(r"\b(?:therapy\.)?steps\[(\d+)\](?:\.dose_per_hour)?"), lambda m: f"step {int(m[1]) + 1}"),
    (re.compile(r"\btherapy\.daily_dose\b"), "the daily dose"),
    (re.compile(r"\btherapy\.cycle_days\b"), "the cycle length"),
    (re.compile(r"\btherapy\.mode\b"), "the mode"),
    (re.compile(r"\bdrug\.concentration_per_ml\b"), "the concentration"),
    (re.compile(r"\bdrug\.dose_unit\b"), "the dose unit"),
    (re.compile(r"\bdrug\.name\b"), "the drug"),
    (re.compile(r"\b(added|withdrawn)_ml (\S+) mL\b"), lambda m: f"the volume {m[1]}, {m[2]} mL,"),
    (re.compile(r"\b(added|withdrawn)_ml\b"), lambda m: f"the volume {m[1]}"),
    (re.compile(r"\s*\([^()]*(?:pump-programmer|--)[^()]*\)"), ""),  # command-line advice in parentheses
    (re.compile(r"`[^`]*`"), ""),
    (re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\b"), lambda m: moment(datetime.fromisoformat(m[0]))),
    (re.compile(r"(\d)x\b"), r"\1 times"),
    (re.compile(r" -> "), " \u2192 "),
    (re.compile(r"(\w)\(s\)"), r"\1s"),
)
"""Document paths, command-line syntax and shorthand, each with its plain words, in the order applied
(``steps[N]`` first, so ``therapy.steps[2]`` is "step 3" and not "the therapy.steps[2]")."""


def plain(message: str) -> str:
    """``message`` with field paths, command-line syntax and shorthand in plain words, as a sentence."""
    text = message
    for pattern, words in FIELD_WORDS:
        text = pattern.sub(words, text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text[:1].upper() + text[1:]


def finding_text(finding: Finding) -> str:
    """The finding as a sentence for the screen: its template's if one matches, else its plain message."""
    for template in TEMPLATES.get(finding.code, ()):
        match = template.pattern.fullmatch(finding.message)
        if match:
            return plain(_filled(template, match))
    return plain(finding.message)

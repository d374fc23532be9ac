"""What the pairing dialog says and how it judges the code as it is typed. Pure functions, no Qt.

Why the dialog judges the code itself, keystroke by keystroke: a pump takes only three pairing attempts per
pairing window, and a code typed with a letter or a digit short would spend one of them for nothing. So the
Pair button is offered only for exactly six digits, and until then the dialog says what is still missing. The
driver checks the code again with the protocol's own rule before anything is sent (the GUI may not import the
protocol package, so the rule's two facts are restated here and a test holds them equal).
"""

from __future__ import annotations

from dataclasses import dataclass

from programmer.errors import LinkError, NotPaired, PairingFailed, ProgrammerError

CODE_DIGITS = 6
"""A pairing code is six decimal digits (protocol.pairing.CODE_DIGITS; a test keeps the two equal)."""
ATTEMPTS = 3
"""Codes a pump takes in one pairing window before it closes it (protocol.pairing.MAX_ATTEMPTS)."""

TITLE = "Pair with this pump"
HOW_TO_OPEN = ("First open the pump's pairing window: on a patient's pump, hold the programmer head over the implant "
               "until the pump's 6-digit pairing code is shown; it is valid for a short time only. The pump emulator "
               "opens it when started with --pairing-window SECONDS, or when sent SIGUSR1, and prints the line "
               "\"pairing code NNNNNN for SECONDS s\".")
WHY = ("A pump accepts changes only from a programmer it has been paired with, and the pairing needs someone at "
       "the pump. Pairing changes nothing on the pump's therapy; this programmer keeps the pump's key in its own "
       "key store, readable only by you.")
PAIRING = "Pairing with the pump and reading it…"


def intro(model: str, serial: str) -> str:
    """The dialog's first sentence: which pump does not know this programmer."""
    return f"The pump {model} serial {serial} does not know this programmer yet: nothing can be read from it or " \
           "changed on it until the two are paired."


@dataclass(frozen=True)
class CodeEntry:
    """The code field judged as typed: ``code`` is set only when it can be sent; ``hint`` says what is
    wanted next (or, for a code that can be sent, what pressing Pair does); ``wrong`` is True for a
    character that is not a digit or one too many, which the field marks."""

    code: str | None
    hint: str
    wrong: bool


def code_entry(text: str) -> CodeEntry:
    """Judge the code field's text; blanks around it (a pasted code) are ignored, blanks inside are not."""
    typed = text.strip()
    if not typed:
        return CodeEntry(None, f"Type the {CODE_DIGITS} digits the pump shows.", False)
    not_digits = sorted({c for c in typed if not ("0" <= c <= "9")})
    if not_digits:
        shown = ", ".join(repr(c) for c in not_digits)
        return CodeEntry(None, f"pairing code: digits 0-9 only, not {shown}; the pump shows {CODE_DIGITS} digits.",
                         True)
    if len(typed) > CODE_DIGITS:
        return CodeEntry(None, f"pairing code: {CODE_DIGITS} digits, not {len(typed)}.", True)
    if len(typed) < CODE_DIGITS:
        missing = CODE_DIGITS - len(typed)
        return CodeEntry(None, f"{len(typed)} of {CODE_DIGITS} digits: {missing} more.", False)
    return CodeEntry(typed, "Pair sends this code to the pump; a wrong code uses up one of its "
                            f"{ATTEMPTS} attempts.", False)


def failure(error: Exception) -> str:
    """Why pairing did not complete, and what to do next. A refusal of the pump (a wrong code, a closed window,
    its attempts used up) keeps the dialog open for another code; the pump's own words come first."""
    if isinstance(error, PairingFailed):
        return (f"Not paired: {error}. Type the code again as the pump shows it: after {ATTEMPTS} wrong codes the "
                "pump closes its pairing window; open it again for a new code.")
    if isinstance(error, NotPaired):
        return f"Not paired: {error}. Open the pump's pairing window again and type its new code."
    if isinstance(error, LinkError):
        return f"Not paired: the link to the pump failed ({error}). Check the connection, then try again."
    if isinstance(error, ProgrammerError):
        return f"Not paired: {error}."
    return f"Not paired: unexpected error ({type(error).__name__}: {error})."

"""Errors raised for bad input, worded for the person who typed it.

Every message names the field (as a dotted path such as ``therapy.steps[2].start``), the value when it
helps, and the rule that was broken. pydantic's own errors are translated here so the CLI and the GUI
never show a traceback or pydantic's internal wording.
"""

from __future__ import annotations

from pydantic import ValidationError


class InputError(ValueError):
    """Input that cannot be used as given. ``problems`` holds one ``(field, message)`` per fault."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None):
        self.problems = problems
        self.source = source
        prefix = f"{source}: " if source else ""
        text = "; ".join(f"{field}: {message}" if field else message for field, message in problems)
        super().__init__(prefix + text)


def field_path(loc: tuple) -> str:
    """Turn a pydantic location such as ``('therapy', 'flex', 'steps', 2, 'start')`` into a dotted path.

    The discriminator tag (``flex``) that pydantic inserts for tagged unions is dropped: the user never
    wrote it as a key.
    """
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("stopped", "simple_continuous", "flex") and parts and parts[-1] == "therapy":
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


_FRIENDLY = {
    "extra_forbidden": "unknown field (not part of the format)",
    "missing": "required field is missing",
}


def from_validation_error(exc: ValidationError, source: str | None = None) -> InputError:
    """Build an InputError from a pydantic ValidationError, one problem per pydantic error."""
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        field = field_path(tuple(err.get("loc", ())))
        message = _FRIENDLY.get(err["type"], err["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if err["type"] not in ("missing",) and "input" in err and not isinstance(err["input"], (dict, list)):
            message = f"{message} (got {err['input']!r})"
        problems.append((field, message))
    return InputError(problems, source)

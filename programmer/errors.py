"""The programmer's errors: one family, so each front end handles every failure in one place.

Why a family: the command line and the application must say the same thing about the same failure, and
a failure must never slip past them as a traceback (or, worse, leave a write's outcome unsaid). So every
error the domain, the driver port or the audit log raises is a ``ProgrammerError`` of one ``kind``:

- ``InputError`` (``input``): what was given cannot be used (a program document, a drug library, an
  option); nothing was sent.
- ``PumpRefused`` (``refused``): the pump understood the request and said no.
- ``LinkError`` (``link``): the pump could not be reached, or its answer cannot be trusted. Drivers turn
  every OS-level failure of their link (``OSError``, ``serial.SerialException``) into one.
- ``AuditError`` (``audit``): the audit log cannot be written.

Each names its ``step`` (what was being done: ``"identify"``, ``"stage program"``, ``"open audit log"``)
and, where one applies, its ``field``; ``str(exc)`` is the one line a user reads. Input errors name the
field (as a dotted path such as ``therapy.steps[2].start``), the value when it helps, and the rule that
was broken; pydantic's own errors are translated here so no front end shows a traceback or pydantic's
internal wording.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # only translated here: importing pydantic is the programs' and the library's cost, not every error's
    from pydantic import ValidationError


class ErrorKind(enum.Enum):
    """What a failure means for the pump, which is what the front ends decide their words and exit codes by."""

    INPUT = "input"
    REFUSED = "refused"
    LINK = "link"
    AUDIT = "audit"


class ProgrammerError(Exception):
    """The root of the family. ``step``: what was being done; ``field``: where, when one field is to blame."""

    kind: ClassVar[ErrorKind]

    def __init__(self, message: str, *, step: str, field: str | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.field = field


class LinkError(ProgrammerError):
    """The link to the pump failed (timeout, disconnect, an OS error of the port, garbled beyond retries), or
    the pump's answer cannot be trusted (``field``: the part of the answer that was wrong)."""

    kind = ErrorKind.LINK


class PumpRefused(ProgrammerError):
    """The pump understood the request and said no: its status code, its message and the field it named."""

    kind = ErrorKind.REFUSED

    def __init__(self, status: str, message: str, *, step: str, field: str | None = None) -> None:
        super().__init__(f"pump refused ({status}): {message}", step=step, field=field)
        self.status = status


class NotPaired(LinkError):
    """The pump does not know this programmer (never paired, or it forgot the pairing): nothing can be read or
    changed until the two are paired. ``model`` and ``serial`` name the pump (from its open IDENTIFY) so the
    front end can say which pump to pair with."""

    def __init__(self, message: str, *, step: str, model: str, serial: str) -> None:
        super().__init__(message, step=step, field="pairing")
        self.model = model
        self.serial = serial


class PairingFailed(ProgrammerError):
    """Pairing did not complete: a wrong code, the pump's pairing window closed, or its attempts used up.
    Nothing was remembered on either side."""

    kind = ErrorKind.REFUSED


class LinkNotSecure(ProgrammerError):
    """A change was asked over a link that is not authenticated and encrypted (a pump speaking protocol
    version 1) without the explicit permission to do so; nothing was sent."""

    kind = ErrorKind.REFUSED


class PermissionRefused(ProgrammerError):
    """The signed-in user's role may not do this (``programmer.roles``); nothing was sent to the pump."""

    kind = ErrorKind.REFUSED


class AuditError(ProgrammerError):
    """The audit log cannot be written. Nothing may be sent to a pump without its attempt on record."""

    kind = ErrorKind.AUDIT


class InputError(ProgrammerError):
    """Input that cannot be used as given. ``problems`` holds one ``(field, message)`` per fault; ``field`` is
    the first problem's (None when it names none). ``step`` says what was being checked, where the raiser
    knows more than that input was."""

    kind = ErrorKind.INPUT

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None, *,
                 step: str = "check input") -> None:
        self.problems = problems
        self.source = source
        prefix = f"{source}: " if source else ""
        text = "; ".join(f"{field}: {message}" if field else message for field, message in problems)
        super().__init__(prefix + text, step=step, field=(problems[0][0] or None) if problems else None)


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

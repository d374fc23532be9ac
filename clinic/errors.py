"""The clinic record's errors, members of the programmer's error family so each front end words them and picks the
exit code from their kind as it does for every other failure (``programmer.errors``).

Why these few: a front end must tell "nothing can be opened" (input, names the database), "no such record" (input,
names the field) and "the signed-in person or this pump may not be used here" (refused: exit 3) apart, and nothing
else about the database is theirs to know.
"""

from __future__ import annotations

from programmer.errors import ErrorKind, InputError, ProgrammerError


class StoreError(ProgrammerError):
    """The clinic database cannot be opened, created or migrated; the message names its URL without the password."""

    kind = ErrorKind.INPUT

    def __init__(self, message: str, *, step: str = "open the clinic database") -> None:
        super().__init__(message, step=step, field="db")


class SignInRefused(ProgrammerError):
    """A password or a token was not accepted. One wording for every reason a password is refused (unknown user,
    wrong password, disabled account), so the answer tells a guesser nothing."""

    kind = ErrorKind.REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(message, step="sign in")


class UnknownPatient(InputError):
    """No patient has this identifier."""

    def __init__(self, identifier: str) -> None:
        super().__init__([("patient", f"no patient has the identifier {identifier!r}")], step="find the patient")


class UnknownSession(InputError):
    """No visit (session) has this id."""

    def __init__(self, session_id: str) -> None:
        super().__init__([("session", f"no session has the id {session_id!r}")], step="find the session")


class WrongPatient(ProgrammerError):
    """The pump is bound to a patient other than the visit's: the hard stop, nothing is sent to it."""

    kind = ErrorKind.REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(message, step="match the pump to the patient", field="patient")


class UnknownPump(ProgrammerError):
    """No patient was chosen for this pump, so nothing may be changed on it yet."""

    kind = ErrorKind.REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(message, step="match the pump to the patient", field="patient")


class CatheterMismatch(ProgrammerError):
    """A catheter length given for a prime is not the one the clinic recorded for the pump: the record is revised
    first (a prime's volume follows the catheter, and the record is what every later prime and bridge uses)."""

    kind = ErrorKind.REFUSED

    def __init__(self, serial: str, patient: str, recorded: str, given: float, *, named: str = "",
                 how: str = "") -> None:
        """``recorded``: the recorded length in words; ``named``: how the front end names the length given
        (``"--catheter-cm "``); ``how``: how it records a revision (``", with ..."``)."""
        self.serial, self.patient, self.recorded, self.given = serial, patient, recorded, given
        super().__init__(f"{named}{given:g} cm is not the catheter length recorded for pump {serial} of {patient}: "
                         f"{recorded}; a catheter revised since is recorded first{how}, then primed; nothing was sent "
                         "to the pump", step="choose the catheter length", field="catheter_cm")


class RecordMismatch(ProgrammerError):
    """A row of the clinic record that a decision rests on (a user's role, a token, a pump's binding) is not what its
    audit trail recorded: it was edited outside the programmer, so nothing is trusted from it."""

    kind = ErrorKind.REFUSED

    def __init__(self, table: str, what: str) -> None:
        super().__init__(f"the clinic record's {table} table disagrees with its audit trail: {what}; nothing is "
                         "trusted from it (run audit verify, tell the administrator)", step="check the clinic record")


class WrongPump(WrongPatient):
    """The visit is with another pump, the pump was explanted, or binding it would replace an implant unnamed. A kind
    of WrongPatient, so every front end that refuses and audits that one does the same with this."""

    def __init__(self, message: str) -> None:
        ProgrammerError.__init__(self, message, step="match the pump to the visit", field="pump")

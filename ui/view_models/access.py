"""Why a control of the window is off, in words for its tooltip: nobody signed in, the signed-in role (for the change,
or for the insecure link it would be sent over), or a pump that may not be changed for this patient (the hard stop
of a pump bound to another patient, or no patient chosen).

Why here and in words: the core refuses all of these anyway (``programmer.roles.require``, the visit's hard stop),
so the window's part is only to say it before the clinician tries, with the same reason on every control, and a
disabled control that does not say why is a puzzle at the bedside.
"""

from __future__ import annotations

from dataclasses import dataclass

from programmer.roles import ROLE_PERMISSIONS, Permission, Role, User

PUMP_CHANGES = frozenset({Permission.CHANGE_THERAPY, Permission.REFILL, Permission.BOLUS, Permission.OVERRIDE,
                          Permission.SET_CLOCK})
"""What changes the pump, so waits for the patient to be known (and stops for a pump bound to another patient)."""


@dataclass(frozen=True)
class Access:
    """Who is signed in (None: nobody, the window is locked), why this pump may not be changed now (None: it
    may, being bound to this visit's patient), and whether a change would go over a link that is not encrypted
    (allowed by the application's option, and then a tester's permission too)."""

    user: User | None
    pump_stop: str | None = None
    insecure_link: bool = False

    def refusal(self, permission: Permission) -> str | None:
        """None when the control may be used; else the sentence its tooltip shows."""
        if self.user is None:
            return "Nobody is signed in: sign in first."
        needed = [permission]
        if permission in PUMP_CHANGES and self.insecure_link:
            needed.append(Permission.INSECURE_LINK)
        for each in needed:
            if not self.user.may(each):
                role = _a(self.user.role.value)
                return (f"{self.user.display_name} is signed in as {role}, and {role} may not {each.value}: "
                        f"{who_may(each)}.")
        if permission in PUMP_CHANGES and self.pump_stop is not None:
            return self.pump_stop
        return None


def wrong_patient_stop(serial: str, bound_to: str, visit_patient: str | None) -> str:
    """The hard stop's sentence: the pump read is another patient's."""
    visit = f" This visit is for {visit_patient}." if visit_patient is not None else ""
    return (f"STOP: pump serial {serial} is implanted in {bound_to}, not in this visit's patient. Nothing may be "
            f"changed on it from this visit.{visit} Check the patient and the pump before going on.")


def no_patient_stop(serial: str) -> str:
    """The sentence while an unknown pump's patient has not been chosen."""
    return (f"Pump serial {serial} is not recorded for any patient: answer \"Which patient?\" (Clinic > Which "
            "patient?) before changing anything on it.")


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def who_may(permission: Permission) -> str:
    """The tooltip's "sign in as a clinician to do it": the roles that hold ``permission``."""
    roles = [role.value for role in Role if permission in ROLE_PERMISSIONS[role]]
    return f"sign in as {_a(' or '.join(roles))} to do it" if roles else "no role may do it"

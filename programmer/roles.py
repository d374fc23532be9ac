"""Who may do what: the four roles of the people who use the programmer, and the permissions each one holds.

Why here, in the domain and not in the windows: a button hidden from a technician protects nothing if the command
line, a script or a later screen can still reach the commit. So every commit asks ``require`` before it sends a
byte (``programmer.audit_record.Attempt.begin``), whichever front end called it, and a refusal is audited like any
other refused change. The roles are fixed by the clinic's practice, not configurable: a clinician changes therapy,
a technician reads and keeps the pump's clock, a tester drives emulators and insecure links, an administrator
manages people and drug libraries. One person who is two of these has two accounts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from programmer.errors import PermissionRefused


class Role(str, enum.Enum):
    CLINICIAN = "clinician"
    TECHNICIAN = "technician"
    TESTER = "tester"
    ADMINISTRATOR = "administrator"


class Permission(str, enum.Enum):
    CHANGE_THERAPY = "change therapy"        # write a program, set the low-reservoir alarm
    REFILL = "refill"
    BOLUS = "give or stop a bolus"           # bolus, prime, bridge, demand dose, cancel
    OVERRIDE = "override a soft limit"
    MANAGE_PATIENTS = "record patients and implants"
    INTERROGATE = "interrogate"
    READ_EVENTS = "read the event log"
    SET_CLOCK = "set the pump's clock"
    PAIR = "pair with a pump"
    EXPORT = "export records and reports"
    EMULATOR_CONTROL = "control an emulated pump"
    INSECURE_LINK = "use a link that is not encrypted"
    MANAGE_USERS = "manage users"
    APPROVE_LIBRARY = "approve a drug library"
    WIRE_TRACE = "view the wire trace"       # the frames on the link, decoded: a technician's and a tester's tool


_READ = frozenset({Permission.INTERROGATE, Permission.READ_EVENTS, Permission.EXPORT})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLINICIAN: _READ | {Permission.CHANGE_THERAPY, Permission.REFILL, Permission.BOLUS, Permission.OVERRIDE,
                             Permission.MANAGE_PATIENTS, Permission.SET_CLOCK, Permission.PAIR},
    Role.TECHNICIAN: _READ | {Permission.SET_CLOCK, Permission.PAIR, Permission.WIRE_TRACE},
    Role.TESTER: _READ | {Permission.EMULATOR_CONTROL, Permission.INSECURE_LINK, Permission.PAIR,
                          Permission.WIRE_TRACE},
    Role.ADMINISTRATOR: frozenset({Permission.MANAGE_USERS, Permission.APPROVE_LIBRARY, Permission.MANAGE_PATIENTS,
                                   Permission.EXPORT}),
}

ACTION_PERMISSIONS: dict[str, Permission] = {
    "write": Permission.CHANGE_THERAPY,
    "set_low_alarm": Permission.CHANGE_THERAPY,
    "refill": Permission.REFILL,
    "bolus": Permission.BOLUS,
    "prime": Permission.BOLUS,
    "bridge": Permission.BOLUS,
    "demand": Permission.BOLUS,
    "cancel_bolus": Permission.BOLUS,
    "set_clock": Permission.SET_CLOCK,
}
"""The permission each audited action (an audit record's ``action``) needs."""


@dataclass(frozen=True)
class User:
    """A signed-in person: ``username`` identifies the account, ``display_name`` is what records and reports show
    (the audit's ``clinician``)."""

    username: str
    display_name: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def require(user: User, permission: Permission) -> None:
    """Raises ``PermissionRefused`` naming the user, the role and what it may not do."""
    if not user.may(permission):
        role = f"{'an' if user.role.value[0] in 'aeiou' else 'a'} {user.role.value}"
        raise PermissionRefused(f"{user.display_name} ({user.username}) is signed in as {role}, and {role} may not "
                                f"{permission.value}", step="check the signed-in role")


def require_link(user: User, insecure_link: bool) -> None:
    """A change sent over a link that is not encrypted (``insecure_link``) needs the permission to use one, besides
    the change's own: anyone on such a link can read and alter what is sent."""
    if insecure_link:
        require(user, Permission.INSECURE_LINK)


def require_action(user: User, action: str) -> None:
    """``require`` for an audited action by its name; an action no permission is listed for is refused too."""
    permission = ACTION_PERMISSIONS.get(action)
    if permission is None:
        raise PermissionRefused(f"no role may do {action!r}: it has no permission listed",
                                step="check the signed-in role")
    require(user, permission)

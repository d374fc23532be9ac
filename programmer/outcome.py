"""What a change did to the pump, in one vocabulary from the driver to the audit log and the exit code.

A driver's ``write_program`` reports one of the first four (what the read-back showed); the session adds
the three that mean nothing was changed because someone said no (the checks, the clinician's missing
override, the pump itself). The values are the ``outcome`` strings of the command line's JSON and of the
audit log (docs/cli.md): they never change.
"""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    """What happened, as far as the pump was read back. Only VERIFIED means the pump does what was asked."""

    VERIFIED = "verified"
    UNCHANGED = "unchanged"            # nothing changed on the pump (read back, or nothing was sent)
    UNCERTAIN = "uncertain"            # the link failed and the pump could not be read back
    MISMATCH = "mismatch"              # the pump reports something other than what was asked
    REFUSED = "refused"                # errors: nothing was sent
    NEEDS_OVERRIDE = "needs_override"  # warnings without an override reason: nothing was sent
    PUMP_REFUSED = "pump_refused"      # the pump itself said no: nothing was changed

"""What a control's tooltip says over a link that is not encrypted, which the application was told to allow: a change
needs the permission to use such a link besides its own (a tester's), and what changes no pump needs nothing more."""

from __future__ import annotations

from programmer.roles import Permission
from tests.support.clinic_fixtures import OSEI, TESS
from ui.view_models.access import Access


def test_over_an_insecure_link_a_change_also_needs_the_testers_permission():
    insecure = Access(OSEI, None, insecure_link=True)
    assert insecure.refusal(Permission.CHANGE_THERAPY) == (
        "Dr A. Osei is signed in as a clinician, and a clinician may not use a link that is not encrypted: sign in as "
        "a tester to do it.")
    assert insecure.refusal(Permission.INTERROGATE) is None  # reading is open to all over it
    assert Access(OSEI, None).refusal(Permission.CHANGE_THERAPY) is None
    assert Access(TESS, None, insecure_link=True).refusal(Permission.CHANGE_THERAPY) == (
        "Tess Tester is signed in as a tester, and a tester may not change therapy: sign in as a clinician to do it.")
    assert Access(TESS, None).refusal(Permission.EMULATOR_CONTROL) is None
    assert Access(OSEI, None).refusal(Permission.EMULATOR_CONTROL) == (
        "Dr A. Osei is signed in as a clinician, and a clinician may not control an emulated pump: sign in as a "
        "tester to do it.")

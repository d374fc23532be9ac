"""The pairing dialog's judgement of the code as it is typed, and its words for each way pairing can fail."""

from __future__ import annotations

import pytest

from programmer.errors import LinkError, NotPaired, PairingFailed
from protocol.pairing import CODE_DIGITS, MAX_ATTEMPTS
from ui.view_models.pairing import ATTEMPTS, code_entry, failure, intro


def test_the_rule_is_the_protocols():
    assert code_entry("0" * CODE_DIGITS).code == "0" * CODE_DIGITS
    assert ATTEMPTS == MAX_ATTEMPTS


@pytest.mark.parametrize(("typed", "code", "hint", "wrong"), [
    ("", None, "Type the 6 digits the pump shows.", False),
    ("0", None, "1 of 6 digits: 5 more.", False),
    ("04271", None, "5 of 6 digits: 1 more.", False),
    ("042719", "042719", "Pair sends this code to the pump; a wrong code uses up one of its 3 attempts.", False),
    (" 042719 ", "042719", "Pair sends this code to the pump; a wrong code uses up one of its 3 attempts.", False),
    ("0427190", None, "pairing code: 6 digits, not 7.", True),
    ("04a7-9", None, "pairing code: digits 0-9 only, not '-', 'a'; the pump shows 6 digits.", True),
    ("042 719", None, "pairing code: digits 0-9 only, not ' '; the pump shows 6 digits.", True),
    ("\u0660\u0664\u0662", None, "pairing code: digits 0-9 only, not '\u0660', '\u0662', '\u0664'; the pump "
                               "shows 6 digits.", True),  # Arabic-Indic digits: not what the protocol takes
])
def test_the_code_is_judged_as_typed(typed, code, hint, wrong):
    entry = code_entry(typed)
    assert (entry.code, entry.hint, entry.wrong) == (code, hint, wrong)


def test_the_pump_is_named():
    assert intro("ITB-20", "EMU-00042").startswith("The pump ITB-20 serial EMU-00042 does not know this programmer")


def test_each_failure_says_what_to_do_next():
    wrong = failure(PairingFailed("pump refused (REFUSED): the confirmation does not match", step="pair"))
    assert wrong == ("Not paired: pump refused (REFUSED): the confirmation does not match. Type the code again as the "
                     "pump shows it: after 3 wrong codes the pump closes its pairing window; open it again for a new "
                     "code.")
    lost = failure(LinkError("no answer from socket://127.0.0.1:7001", step="pair"))
    assert lost == ("Not paired: the link to the pump failed (no answer from socket://127.0.0.1:7001). Check the "
                    "connection, then try again.")
    forgot = failure(NotPaired("the pump does not know this programmer", step="hello", model="ITB-20", serial="S1"))
    assert forgot.startswith("Not paired: the pump does not know this programmer. Open the pump's pairing window")
    assert failure(RuntimeError("boom")) == "Not paired: unexpected error (RuntimeError: boom)."

"""The programmer's pair keys at rest (programmer.pairing_keys): its owner's alone, replaced whole, refused when
others could read them or when the file is not one, and a key forgotten for good."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime

import pytest

from programmer.errors import InputError
from programmer.pairing_keys import KEYS_FORMAT, load_pairing_keys

WHEN = datetime(2026, 12, 3, 21, 40, 5)
KEY = bytes(range(32))


def test_a_new_programmer_has_an_id_and_no_keys_and_writes_nothing_until_it_pairs(tmp_path):
    path = tmp_path / "data" / "pairing-keys.json"
    keys = load_pairing_keys(path)
    assert keys.programmer_id.startswith("programmer-") and keys.keys == {} and keys.key_for("E20-B9CDE4") is None
    assert not path.exists()
    keys.remember("E20-B9CDE4", KEY, WHEN)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = load_pairing_keys(path)
    assert again.programmer_id == keys.programmer_id and again.key_for("E20-B9CDE4") == KEY
    assert json.loads(path.read_text())["pumps"]["E20-B9CDE4"]["paired_at"] == "2026-12-03T21:40:05"
    assert [p.name for p in path.parent.iterdir()] == ["pairing-keys.json"]  # no temporary file left behind


def test_a_forgotten_key_is_gone_from_the_file(tmp_path):
    path = tmp_path / "pairing-keys.json"
    keys = load_pairing_keys(path)
    keys.remember("E20-B9CDE4", KEY, WHEN)
    keys.remember("E40-3F9A2C", bytes(32), WHEN)
    assert keys.forget("E20-B9CDE4") and not keys.forget("E20-B9CDE4")
    assert load_pairing_keys(path).keys.keys() == {"E40-3F9A2C"}
    assert KEY.hex() not in path.read_text() and "AAECAwQF" not in path.read_text()  # not even base64-encoded


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_keys_file_others_may_read_is_refused_naming_the_fix(tmp_path, mode):
    path = tmp_path / "pairing-keys.json"
    load_pairing_keys(path).remember("E20-B9CDE4", KEY, WHEN)
    os.chmod(path, mode)
    with pytest.raises(InputError) as caught:
        load_pairing_keys(path)
    assert f"its mode is {mode:04o}" in str(caught.value) and f"chmod 600 {path}" in str(caught.value)


@pytest.mark.parametrize("content", [
    "", "[]", "{}", '{"format": "other/1"}',
    json.dumps({"format": KEYS_FORMAT, "programmer_id": "p", "pumps": {"S": {"key": "AAAA", "paired_at": "x"}}}),
    json.dumps({"format": KEYS_FORMAT, "programmer_id": "p", "pumps": {"S": {"key": "!!!!", "paired_at": "x"}}}),
    json.dumps({"format": KEYS_FORMAT, "programmer_id": "", "pumps": {}}),
    json.dumps({"format": KEYS_FORMAT, "programmer_id": "p", "pumps": []}),
])
def test_a_file_that_is_not_a_keys_file_is_refused_not_replaced(tmp_path, content):
    path = tmp_path / "pairing-keys.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(InputError, match="not a pairing keys file"):
        load_pairing_keys(path)
    assert path.read_text() == content


def test_a_wrong_length_key_is_not_remembered(tmp_path):
    keys = load_pairing_keys(tmp_path / "pairing-keys.json")
    with pytest.raises(ValueError, match="32 bytes"):
        keys.remember("E20-B9CDE4", b"short", WHEN)
    assert not (tmp_path / "pairing-keys.json").exists()

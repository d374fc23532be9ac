"""Only approved drug libraries (issue 10): a library loads only when its signature FILE.sig, by a key of the
trust store, approves its exact bytes. Every key here is a throwaway made in the test (tests/support/
library_signing.py), never the release key; ``pharmacy`` is one this test's administrator trust store lists.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from programmer.errors import InputError
from programmer.library import load_library, shipped_library_file
from programmer.library_signing import (administrator_trust_path, parse_signature, read_private_key, sign,
                                        write_private_key)
from tests.support.library_data import shipped_data
from tests.support.library_signing import Signer, write_library, write_trust_store


def site_library(tmp_path: Path, signer: Signer | None) -> Path:
    data = shipped_data()
    data["name"], data["version"] = "Site library", "site-3"
    return write_library(tmp_path / "site.json", data, signer)


def refusal(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_library(path)
    return str(info.value)


# --- the round trip ---------------------------------------------------------------------------------------------


def test_a_library_signed_by_a_trusted_key_loads_with_its_approval(tmp_path, pharmacy):
    path = site_library(tmp_path, pharmacy)
    identity = load_library(path).identity
    assert (identity.name, identity.version) == ("Site library", "site-3")
    assert (identity.approved, identity.signer, identity.key_id) == ("2026-11-30", "Test hospital pharmacy",
                                                                     pharmacy.key_id)
    assert identity.words() == ("Site library site-3, approved 2026-11-30 by Test hospital pharmacy "
                                f"(key {pharmacy.key_id})")


def test_the_signature_file_holds_the_documented_fields_and_signs_their_canonical_encoding(tmp_path, pharmacy):
    path = site_library(tmp_path, pharmacy)
    written = json.loads(Path(f"{path}.sig").read_text(encoding="utf-8"))
    public = pharmacy.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert pharmacy.key_id == hashlib.sha256(public).hexdigest()[:16]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert {key: value for key, value in written.items() if key != "signature"} == {
        "format": "itb-library-signature/1", "library_sha256": digest, "signer": "Test hospital pharmacy",
        "approved": "2026-11-30", "key_id": pharmacy.key_id}
    canonical = ('{"approved":"2026-11-30","format":"itb-library-signature/1","key_id":"' + pharmacy.key_id
                 + '","library_sha256":"' + digest + '","signer":"Test hospital pharmacy"}').encode("ascii")
    pharmacy.key.public_key().verify(base64.b64decode(written["signature"]), canonical)  # raises if not


def test_the_canonical_encoding_escapes_every_character_outside_ascii(tmp_path):
    signer = Signer("Pharmacie de l'Hôtel-Dieu")
    signature = sign(b"{}", signer.key, signer.name, date(2026, 11, 30))
    assert b'"signer":"Pharmacie de l\'H\\u00f4tel-Dieu"' in signature.signed_bytes()


# --- refused: unsigned, changed, untrusted -------------------------------------------------------------------------


def test_a_library_without_a_signature_is_refused(tmp_path, pharmacy):
    path = site_library(tmp_path, None)
    assert refusal(path) == (f"{path}: not signed: there is no {path}.sig beside it, and an unsigned drug library "
                             "is never used (it must be signed by a key of the trust store: docs/program-format.md, "
                             "the drug library)")


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_byte_changed_in_the_library_is_refused(tmp_path, pharmacy, where):
    path = site_library(tmp_path, pharmacy)
    raw = bytearray(path.read_bytes())
    signed_digest = hashlib.sha256(raw).hexdigest()
    index = {"first": 0, "middle": len(raw) // 2, "last": len(raw) - 1}[where]
    raw[index] ^= 0x01
    path.write_bytes(bytes(raw))
    assert refusal(path) == (f"{path}: changed since it was approved: its SHA-256 is "
                             f"{hashlib.sha256(raw).hexdigest()}, the signature {path}.sig approves {signed_digest}; "
                             "a changed library is never used")


def test_every_one_byte_change_in_the_signature_is_refused(tmp_path, pharmacy):
    path = site_library(tmp_path, pharmacy)
    signature = Path(f"{path}.sig")
    original = signature.read_bytes()
    load_library(path)  # approved as signed
    for index in range(len(original)):
        changed = bytearray(original)
        changed[index] ^= 0x01
        signature.write_bytes(bytes(changed))
        with pytest.raises(InputError):
            load_library(path)


def test_another_spelling_of_the_same_signature_bytes_is_refused(tmp_path, pharmacy):
    # 64 bytes are 88 base64 characters ending "==": the last one before them carries 4 unused bits. Setting one
    # decodes to the same signature, so only the rule "canonical base64" tells the file was changed.
    path = site_library(tmp_path, pharmacy)
    signature = Path(f"{path}.sig")
    data = json.loads(signature.read_text(encoding="utf-8"))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    text = data["signature"]
    assert len(text) == 88 and text.endswith("==")
    respelled = text[:85] + alphabet[alphabet.index(text[85]) ^ 0x01] + "=="
    assert base64.b64decode(respelled) == base64.b64decode(text)
    signature.write_text(json.dumps(data | {"signature": respelled}), encoding="utf-8")
    assert "canonical base64" in refusal(path)


def test_a_signature_copied_beside_another_library_is_refused(tmp_path, pharmacy):
    approved = site_library(tmp_path, pharmacy)
    data = shipped_data()
    data["drugs"][0]["daily_dose"]["hard_max"] = 100000
    lax = write_library(tmp_path / "lax.json", data)
    Path(f"{lax}.sig").write_bytes(Path(f"{approved}.sig").read_bytes())
    assert "changed since it was approved" in refusal(lax)


def test_a_library_signed_by_a_key_not_in_the_trust_store_is_refused(tmp_path, pharmacy):
    stranger = Signer("Somebody")
    path = site_library(tmp_path, stranger)
    assert refusal(path) == (f"{path}.sig: key_id: {stranger.key_id} (signer 'Somebody') is not a key of the trust "
                             "store (the keys shipped with the programmer and those in "
                             f"{administrator_trust_path()}): a library approved by an unknown key is never used")


def test_a_signature_naming_a_trusted_key_but_made_by_another_is_refused(tmp_path, pharmacy):
    path = site_library(tmp_path, Signer("Somebody"))
    signature = Path(f"{path}.sig")
    data = json.loads(signature.read_text(encoding="utf-8"))
    signature.write_text(json.dumps(data | {"key_id": pharmacy.key_id}), encoding="utf-8")
    assert refusal(path) == (f"{path}.sig: signature: does not verify with the trusted key {pharmacy.key_id} "
                             "(Test hospital pharmacy's key): the signature file was altered, or that key did not "
                             "make it; the library is never used")


def test_a_signature_with_a_field_of_its_own_is_refused(tmp_path, pharmacy):
    path = site_library(tmp_path, pharmacy)
    signature = Path(f"{path}.sig")
    data = json.loads(signature.read_text(encoding="utf-8"))
    signature.write_text(json.dumps(data | {"valid": True}), encoding="utf-8")
    assert refusal(path) == f"{path}.sig: valid: unknown field (not part of the format) (got True)"


# --- the trust store ----------------------------------------------------------------------------------------------


def test_the_shipped_library_is_approved_by_the_release_key_shipped_with_it():
    loaded = load_library()
    trust = json.loads((Path(shipped_library_file()).parent / "trusted_library_keys.json").read_text("utf-8"))
    [release] = trust["keys"]
    assert release["name"] == "ITB programmer development release key"
    assert loaded.identity.key_id == release["key_id"]
    assert loaded.approval is not None and loaded.approval.trusted_by == "shipped"
    signature = parse_signature(Path(f"{shipped_library_file()}.sig").read_bytes(), "shipped")
    assert signature.library_sha256 == hashlib.sha256(Path(shipped_library_file()).read_bytes()).hexdigest()


def test_a_damaged_administrator_file_never_stops_the_shipped_library_but_is_named(tmp_path, pharmacy):
    path = site_library(tmp_path, pharmacy)
    administrator_trust_path().write_text('{"format": "itb-library-trust/1", "keys": [', encoding="utf-8")
    assert load_library().identity.name == "ITB default drug library"
    assert refusal(path).startswith(f"{administrator_trust_path()}: not valid JSON")


def test_a_trust_entry_whose_id_is_not_its_keys_is_refused(tmp_path, pharmacy):
    other = Signer("Other")
    path = site_library(tmp_path, pharmacy)
    entry = pharmacy.entry.model_dump() | {"key_id": other.key_id}
    administrator_trust_path().write_text(json.dumps({"format": "itb-library-trust/1", "keys": [entry]}),
                                          encoding="utf-8")
    assert (f"key_id {other.key_id} is not this public key's id ({pharmacy.key_id})") in refusal(path)


def test_a_key_listed_twice_is_refused(tmp_path, pharmacy):
    path = site_library(tmp_path, pharmacy)
    write_trust_store(administrator_trust_path(), pharmacy, pharmacy)
    assert f"each key is listed once; repeated: {pharmacy.key_id}" in refusal(path)


def test_the_administrator_store_lives_in_the_users_configuration_directory(tmp_path, pharmacy):
    # pharmacy set $XDG_CONFIG_HOME to tmp_path/config for this test.
    assert administrator_trust_path() == tmp_path / "config" / "itb-programmer" / "trusted-library-keys.json"


# --- signing and keys -----------------------------------------------------------------------------------------------


def test_an_approval_cannot_be_dated_after_today():
    signer = Signer()
    with pytest.raises(InputError) as info:
        sign(b"{}", signer.key, signer.name, date(2026, 12, 4), today=date(2026, 12, 3))
    assert str(info.value) == ("approved: 2026-12-04 is after today (2026-12-03): a library is approved on the day "
                               "it is signed or before")
    assert sign(b"{}", signer.key, signer.name, date(2026, 12, 3), today=date(2026, 12, 3)).approved == "2026-12-03"
    assert sign(b"{}", signer.key, signer.name, date.today() - timedelta(days=1)).signer == signer.name


@pytest.mark.parametrize("name, message", [
    ("", "signer: is empty: name who approves the library (a pharmacy, a committee)"),
    (" Pharmacy", "signer: the signer's name must not begin or end with spaces (got ' Pharmacy')"),
    ("Pharmacy\nEvil", "signer: the signer's name must not hold control characters (a line break, a tab) (got "
                       "'Pharmacy\\nEvil')"),
])
def test_a_signer_name_must_read_the_same_everywhere(name, message):
    with pytest.raises(InputError) as info:
        sign(b"{}", Signer().key, name, date(2026, 11, 30))
    assert str(info.value) == message


def test_a_private_key_is_written_mode_0600_never_over_a_file_and_read_back(tmp_path):
    path = tmp_path / "key.pem"
    signer = Signer()
    previous = os.umask(0)  # the loosest umask: the file must still be the owner's alone
    try:
        write_private_key(path, signer.key)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_private_key(path).public_key() == signer.key.public_key()
    before = path.read_bytes()
    with pytest.raises(InputError) as info:
        write_private_key(path, Signer().key)
    assert str(info.value) == f"out: {path} already exists: a key is never overwritten"
    assert path.read_bytes() == before


def test_only_an_unencrypted_ed25519_private_key_signs(tmp_path):
    other = tmp_path / "ec.pem"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    locked = tmp_path / "locked.pem"
    locked.write_bytes(Signer().key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.BestAvailableEncryption(b"secret")))
    text = tmp_path / "text.pem"
    text.write_text("not a key", encoding="utf-8")
    for path, said in [(other, "is not an Ed25519 private key"), (locked, "is encrypted with a passphrase"),
                       (text, "is not a PEM private key"), (tmp_path / "none.pem", "cannot read")]:
        with pytest.raises(InputError) as info:
            read_private_key(path)
        assert info.value.field == "key" and said in str(info.value), str(info.value)

"""Approved drug libraries: the detached signature beside a library file, and the keys trusted to make one.

Why: the drug library decides which doses block. A copy of the shipped library with one hard maximum raised,
under the same name and version, must never pass for the approved one, and nothing in its content can tell
them apart. So a library is used only with its signature beside it, ``FILE.sig`` (``itb-library-signature/1``):
an Ed25519 signature, by a key of the trust store, over the SHA-256 of the library file's exact bytes, the
signer's name and the approval date. The library file's own format stays as it was.

The trust store is the keys shipped with the package (``data/trusted_library_keys.json``) and, optionally,
the keys a clinic's administrator adds in the user's configuration directory (``administrator_trust_path``).
Nothing on a command line or in the environment adds trust. The formats: docs/program-format.md (the drug
library). Cryptography: ``cryptography``'s Ed25519 (RFC 8032), which signs deterministically.

Verifying is what every command does (each loads a library), so only what it needs is imported with this
module: PEM key files (``cryptography``'s serialization, about as long again to import as Ed25519) and
the user's configuration directory (``platformdirs``) are imported by the functions that use them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import unicodedata
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from programmer.errors import InputError, from_validation_error
from programmer.program import parse_json_text, write_text_atomically

SIGNATURE_FORMAT = "itb-library-signature/1"
TRUST_FORMAT = "itb-library-trust/1"
SIGNATURE_SUFFIX = ".sig"
"""The signature of ``FILE`` is ``FILE.sig``, in the same folder."""
SHIPPED_TRUST_FILE = "data/trusted_library_keys.json"
ADMINISTRATOR_TRUST_FILE = "trusted-library-keys.json"
APP_NAME = "itb-programmer"
SIGNER_MAX_CHARS = 120
KEY_ID_HEX_DIGITS = 16
"""A key id is the first 16 hex digits of the SHA-256 of the raw public key: enough to name a key to a person.
It only finds the key: the signature must then verify with that key, so two keys sharing an id gain nothing."""

SHIPPED = "shipped"
ADMINISTRATOR = "administrator"


class _Strict(BaseModel):
    """Base of the signature's and the trust store's models: strict and immutable, validators built on first
    use (``defer_build``), so a command builds only those it reads."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


def _printable(text: str, what: str) -> str:
    """No control characters and no spaces around: a name that reads the same in a log, a dialog and a file."""
    if text != text.strip():
        raise ValueError(f"{what} must not begin or end with spaces")
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise ValueError(f"{what} must not hold control characters (a line break, a tab)")
    return text


def _base64_bytes(text: str, length: int, what: str) -> bytes:
    """Standard base64 (RFC 4648, with padding) of exactly ``length`` bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} must be standard base64") from None
    if len(raw) != length:
        raise ValueError(f"{what} must be {length} bytes in base64 (got {len(raw)} bytes)")
    if base64.b64encode(raw).decode("ascii") != text:  # unused bits set: another spelling of the same bytes
        raise ValueError(f"{what} must be canonical base64 (its unused bits zero)")
    return raw


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The key's id: the first 16 hex digits of the SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(public_key.public_bytes_raw()).hexdigest()[:KEY_ID_HEX_DIGITS]


def approval_date(text: str) -> date:
    """A calendar date written YYYY-MM-DD, and only so (not 2026-1-3, not a week date); ValueError otherwise."""
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.isoformat() != text:
        raise ValueError("must be a date written YYYY-MM-DD")
    return parsed


class LibrarySignature(_Strict):
    """A library's detached signature, ``FILE.sig``. ``signature`` is the Ed25519 signature, by the key
    ``key_id``, of ``signed_bytes()``: the other five fields in a canonical encoding."""

    format: Literal["itb-library-signature/1"]
    library_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """The SHA-256 of the library file's exact bytes, 64 lowercase hex digits."""
    signer: Annotated[str, Field(min_length=1, max_length=SIGNER_MAX_CHARS)]
    """Who approved the library (a pharmacy, a committee), as the key's holder wrote it."""
    approved: str
    """The approval date, YYYY-MM-DD."""
    key_id: Annotated[str, Field(pattern=rf"^[0-9a-f]{{{KEY_ID_HEX_DIGITS}}}$")]
    signature: str
    """Standard base64 of the 64-byte Ed25519 signature."""

    @field_validator("signer")
    @classmethod
    def _signer_printable(cls, signer: str) -> str:
        return _printable(signer, "the signer's name")

    @field_validator("approved")
    @classmethod
    def _approved_date(cls, approved: str) -> str:
        approval_date(approved)
        return approved

    @field_validator("signature")
    @classmethod
    def _signature_bytes(cls, signature: str) -> str:
        _base64_bytes(signature, 64, "the signature")
        return signature

    def signed_bytes(self) -> bytes:
        """The canonical encoding signed: the fields but ``signature`` as one JSON object, keys sorted, no
        whitespace, every character outside ASCII as a \\uXXXX escape: the same bytes on every machine."""
        fields = self.model_dump(exclude={"signature"})
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), indent=2, ensure_ascii=False) + "\n"


class TrustedKey(_Strict):
    """One key allowed to approve libraries: its id, a name for people, and the public key itself."""

    key_id: Annotated[str, Field(pattern=rf"^[0-9a-f]{{{KEY_ID_HEX_DIGITS}}}$")]
    name: Annotated[str, Field(min_length=1, max_length=SIGNER_MAX_CHARS)]
    public_key: str
    """Standard base64 of the 32 raw bytes of the Ed25519 public key."""

    @field_validator("name")
    @classmethod
    def _name_printable(cls, name: str) -> str:
        return _printable(name, "the key's name")

    @field_validator("public_key")
    @classmethod
    def _public_key_bytes(cls, public_key: str) -> str:
        _base64_bytes(public_key, 32, "the public key")
        return public_key

    @model_validator(mode="after")
    def _id_matches(self) -> "TrustedKey":
        """The id is derived from the key: one that does not match is a key pasted wrong, or another key's id."""
        derived = key_id_of(self.verifier())
        if derived != self.key_id:
            raise ValueError(f"key_id {self.key_id} is not this public key's id ({derived})")
        return self

    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(self.public_key))

    @classmethod
    def of(cls, public_key: Ed25519PublicKey, name: str | None = None) -> "TrustedKey":
        """The trust-store entry for a key, named ``name`` (default: ``library signing key`` and its id); an
        InputError (field ``name``) for a name that cannot be one."""
        key_id = key_id_of(public_key)
        try:
            return cls(key_id=key_id, name=f"library signing key {key_id}" if name is None else name,
                       public_key=base64.b64encode(public_key.public_bytes_raw()).decode("ascii"))
        except ValidationError as exc:
            raise from_validation_error(exc)


class TrustFile(_Strict):
    """A trust store file, ``itb-library-trust/1``: the keys it trusts, each id once."""

    format: Literal["itb-library-trust/1"]
    notes: str = ""
    keys: list[TrustedKey]

    @model_validator(mode="after")
    def _unique_ids(self) -> "TrustFile":
        ids = [key.key_id for key in self.keys]
        repeated = sorted({key_id for key_id in ids if ids.count(key_id) > 1})
        if repeated:
            raise ValueError(f"each key is listed once; repeated: {', '.join(repeated)}")
        return self


@dataclass(frozen=True)
class Approval:
    """Who approved a library and when, as its verified signature says, and the trusted key that made it
    (``trusted_by``: ``shipped`` with the programmer, or added by the ``administrator``)."""

    signer: str
    approved: str
    key_id: str
    key_name: str
    trusted_by: str


class Readable(Protocol):
    """A file to read whole: a ``Path``, or a package resource (``importlib.resources``)."""

    def read_bytes(self) -> bytes: ...


def administrator_trust_path() -> Path:
    """Where a clinic's administrator lists the keys this user's programmer also trusts: the user's configuration
    directory (``$XDG_CONFIG_HOME/itb-programmer/trusted-library-keys.json`` on Linux)."""
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / ADMINISTRATOR_TRUST_FILE


def _trust_file(raw: bytes, source: str) -> TrustFile:
    data = _json_object(raw, source, "a trust store")
    try:
        return TrustFile.model_validate(data, strict=True)
    except ValidationError as exc:
        raise from_validation_error(exc, source)


def trusted_key(key_id: str) -> tuple[TrustedKey, str] | None:
    """The trusted key with this id and who trusts it (``shipped`` or ``administrator``); None when neither
    store has it. The administrator's file is read only for a key the shipped store lacks, so a damaged file
    of theirs never stops the shipped library; when it is read, a damaged one is an InputError naming it."""
    shipped = resources.files("programmer").joinpath(SHIPPED_TRUST_FILE)
    try:
        shipped_bytes = shipped.read_bytes()
    except OSError as exc:
        raise InputError([("", f"cannot read the shipped trust store: {exc.strerror or exc}")],
                         str(shipped)) from None
    for key in _trust_file(shipped_bytes, str(shipped)).keys:
        if key.key_id == key_id:
            return key, SHIPPED
    path = administrator_trust_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError([("", f"cannot read the administrator's trust store: {exc.strerror or exc}")],
                         str(path)) from None
    for key in _trust_file(raw, str(path)).keys:
        if key.key_id == key_id:
            return key, ADMINISTRATOR
    return None


def _json_object(raw: bytes, source: str, what: str) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([("", "file is not UTF-8 text")], source) from None
    data = parse_json_text(text, source)
    if not isinstance(data, dict):
        raise InputError([("", f"{what} must be a JSON object")], source)
    return data


def parse_signature(raw: bytes, source: str) -> LibrarySignature:
    """A signature file, validated (its fields' forms; not yet whether it verifies)."""
    data = _json_object(raw, source, "a library signature")
    try:
        return LibrarySignature.model_validate(data, strict=True)
    except ValidationError as exc:
        raise from_validation_error(exc, source)


def verify(library_bytes: bytes, signature: LibrarySignature, source: str, signature_source: str) -> Approval:
    """The approval a signature gives these exact library bytes; an InputError when the key is not trusted,
    the signature does not verify with it, or the bytes are not the ones signed."""
    found = trusted_key(signature.key_id)
    if found is None:
        raise InputError([("key_id", f"{signature.key_id} (signer {signature.signer!r}) is not a key of the trust "
                                     f"store (the keys shipped with the programmer and those in "
                                     f"{administrator_trust_path()}): a library approved by an unknown key is "
                                     "never used")], signature_source, step="verify drug library")
    key, trusted_by = found
    try:
        key.verifier().verify(base64.b64decode(signature.signature), signature.signed_bytes())
    except InvalidSignature:
        raise InputError([("signature", f"does not verify with the trusted key {key.key_id} ({key.name}): the "
                                        "signature file was altered, or that key did not make it; the library is "
                                        "never used")], signature_source, step="verify drug library") from None
    actual = hashlib.sha256(library_bytes).hexdigest()
    if actual != signature.library_sha256:
        raise InputError([("", f"changed since it was approved: its SHA-256 is {actual}, the signature "
                               f"{signature_source} approves {signature.library_sha256}; a changed library is "
                               "never used")], source, step="verify drug library")
    return Approval(signer=signature.signer, approved=signature.approved, key_id=key.key_id, key_name=key.name,
                    trusted_by=trusted_by)


def read_approved(library: Readable, signature: Readable, source: str, signature_source: str
                  ) -> tuple[bytes, Approval]:
    """Read a library file once, and its signature; the bytes (parse these, not the file again) and their
    approval. An InputError when either cannot be read, the signature is missing, or it does not approve them."""
    try:
        library_bytes = library.read_bytes()
    except OSError as exc:
        raise InputError([("", f"cannot read file: {exc.strerror or exc}")], source) from None
    try:
        signature_bytes = signature.read_bytes()
    except FileNotFoundError:
        raise InputError([("", f"not signed: there is no {signature_source} beside it, and an unsigned drug "
                               "library is never used (it must be signed by a key of the trust store: "
                               "docs/program-format.md, the drug library)")], source,
                         step="verify drug library") from None
    except OSError as exc:
        raise InputError([("", f"cannot read file: {exc.strerror or exc}")], signature_source) from None
    parsed = parse_signature(signature_bytes, signature_source)
    return library_bytes, verify(library_bytes, parsed, source, signature_source)


def signature_path(library_path: str | os.PathLike) -> Path:
    """``FILE.sig`` for ``FILE``."""
    return Path(f"{os.fspath(library_path)}{SIGNATURE_SUFFIX}")


# --- making keys and signatures (a pharmacy, the release) ----------------------------------------------------


def sign(library_bytes: bytes, key: Ed25519PrivateKey, signer: str, approved: date,
         today: date | None = None) -> LibrarySignature:
    """The signature that approves these exact bytes, by ``signer`` on ``approved`` (not after ``today``: an
    approval cannot be dated ahead). InputErrors name the field: ``signer``, ``approved``."""
    today = today or date.today()
    if not signer.strip():
        raise InputError([("signer", "is empty: name who approves the library (a pharmacy, a committee)")])
    if approved > today:
        raise InputError([("approved", f"{approved.isoformat()} is after today ({today.isoformat()}): a library "
                                       "is approved on the day it is signed or before")])
    fields = {"format": SIGNATURE_FORMAT, "library_sha256": hashlib.sha256(library_bytes).hexdigest(),
              "signer": signer, "approved": approved.isoformat(), "key_id": key_id_of(key.public_key())}
    placeholder = base64.b64encode(bytes(64)).decode("ascii")
    try:
        unsigned = LibrarySignature.model_validate(fields | {"signature": placeholder}, strict=True)
    except ValidationError as exc:
        raise from_validation_error(exc)
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode("ascii")
    return unsigned.model_copy(update={"signature": signature})


def write_signature(library_path: str | os.PathLike, signature: LibrarySignature) -> Path:
    """Write ``FILE.sig`` atomically (a crash leaves the old signature or the new one); its path."""
    path = signature_path(library_path)
    try:
        write_text_atomically(path, signature.to_json())
    except OSError as exc:
        raise InputError([("", f"cannot write the signature: {exc.strerror or exc}")], str(path)) from None
    return path


def read_private_key(path: str | os.PathLike) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key in PEM (PKCS #8), as ``write_private_key`` writes it; an
    InputError (field ``key``) for anything else."""
    from cryptography.hazmat.primitives import serialization

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError([("key", f"cannot read {os.fspath(path)}: {exc.strerror or exc}")]) from None
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except TypeError:
        raise InputError([("key", f"{os.fspath(path)} is encrypted with a passphrase, which this programmer does "
                                  "not read: keep the key unencrypted on a protected medium (mode 0600)")]) from None
    except (ValueError, UnsupportedAlgorithm):
        raise InputError([("key", f"{os.fspath(path)} is not a PEM private key")]) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError([("key", f"{os.fspath(path)} is not an Ed25519 private key (a library is signed with "
                                  "Ed25519 only)")])
    return key


def new_key() -> Ed25519PrivateKey:
    """A new Ed25519 private key, from the operating system's random source."""
    return Ed25519PrivateKey.generate()


def write_private_key(path: str | os.PathLike, key: Ed25519PrivateKey) -> None:
    """Write a private key to a new file ``path`` in PEM (PKCS #8, unencrypted), readable and writable by its
    owner only (mode 0600, whatever the umask); an existing file is never overwritten (an InputError, field
    ``out``), and a file that could not be written whole is removed."""
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError([("out", f"{os.fspath(path)} already exists: a key is never overwritten")]) from None
    except OSError as exc:
        raise InputError([("out", f"cannot create {os.fspath(path)}: {exc.strerror or exc}")]) from None
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, pem)
        os.fsync(descriptor)
    except OSError as exc:
        os.close(descriptor)
        os.unlink(path)
        raise InputError([("out", f"cannot write {os.fspath(path)}: {exc.strerror or exc}")]) from None
    os.close(descriptor)

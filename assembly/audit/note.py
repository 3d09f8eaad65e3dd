"""C2SP signed notes (c2sp.org/signed-note, golang.org/x/mod/sumdb/note) with Ed25519 keys.

A checkpoint is a signed note: text, a blank line, and lines `— <key name> base64(keyid||sig)`.
Keys travel as text so they can be printed on the estate's notice board:

- verifier key  `<name>+<hex keyid>+base64(0x01 || 32-byte public key)`
- signer key    `PRIVATE+KEY+<name>+<hex keyid>+base64(0x01 || 32-byte seed)` (keep secret)

with keyid = the first 4 bytes of SHA-256(name || 0x0A || type byte || public key). Witness
cosignature keys (type 0x04) are handled in cosign.py and plug in through the same `Verifier`
shape: `name`, `key_id`, `verify(text, signature) -> bool`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04  # c2sp.org/tlog-cosignature, timestamped Ed25519
EM_DASH_PREFIX = "— "  # U+2014 and a space
MAX_SIGNATURES = 100  # C2SP: must accept at least 16; Go's note package stops at 100
MAX_NOTE_BYTES = 1 << 16  # a checkpoint with 100 cosignatures is about 12 KB


class NoteError(ValueError):
    """A note or key that is malformed, or whose signatures do not check out."""


class UnverifiedNote(NoteError):
    """A well-formed note that no known key has signed."""

    def __init__(self, message: str, unverified: list[Signature]) -> None:
        super().__init__(message)
        self.unverified = unverified


class Verifier(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class Signer(Protocol):
    name: str
    key_id: int

    def sign(self, text: bytes) -> bytes: ...


@dataclass(frozen=True)
class Signature:
    """One signature line: who (name, key id) and the raw bytes after the key id."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = struct.pack(">I", self.key_id) + self.signature
        return f"{EM_DASH_PREFIX}{self.name} {base64.b64encode(blob).decode('ascii')}\n"


class OpenedNote(NamedTuple):
    text: str
    verified: list[Signature]
    unverified: list[Signature]


def key_id(name: str, typed_public_key: bytes) -> int:
    """SHA-256(name || "\\n" || type byte || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + typed_public_key).digest()
    return struct.unpack(">I", digest[:4])[0]


def is_valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode white space, no '+' (it separates the parts of a key)."""
    return bool(name) and "+" not in name and not any(char.isspace() for char in name)


def decode_base64(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4, padded); NoteError naming `what` otherwise."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"{what} is not valid base64") from None


def _public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Ed25519Verifier:
    """Checks plain Ed25519 note signatures (type 0x01): the log's checkpoint signature."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, bytes([ED25519]) + self.public_key)

    @property
    def vkey(self) -> str:
        blob = base64.b64encode(bytes([ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{blob}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


class Ed25519Signer:
    """Signs notes with an Ed25519 key; built from the secret `PRIVATE+KEY+...` text."""

    def __init__(self, name: str, seed: bytes) -> None:
        if not is_valid_key_name(name):
            raise NoteError(f"invalid key name {name!r}")
        if len(seed) != 32:
            raise NoteError("an Ed25519 seed is 32 bytes")
        self.name = name
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.verifier = Ed25519Verifier(name, _public_bytes(self._key.public_key()))
        self.key_id = self.verifier.key_id

    def sign(self, text: bytes) -> bytes:
        return self._key.sign(text)


def split_key(text: str, parts: int) -> list[str]:
    """Split a key text on its first `parts - 1` '+' (the base64 key may itself contain '+',
    as in Go's note package, which chops at the first '+' each time)."""
    pieces = text.split("+", parts - 1)
    if len(pieces) != parts:
        raise NoteError("malformed key: wrong number of '+'-separated parts")
    return pieces


def parse_typed_key(name: str, hex_id: str, blob64: str) -> tuple[int, bytes]:
    """Check a key's name and hex id against its base64 body; return (type byte, key bytes)."""
    if not is_valid_key_name(name):
        raise NoteError(f"invalid key name {name!r}")
    if len(hex_id) != 8 or any(char not in "0123456789abcdefABCDEF" for char in hex_id):
        raise NoteError("malformed key: the key id is not 8 hex digits")
    blob = decode_base64(blob64, "key")
    if len(blob) < 2:
        raise NoteError("malformed key: no key material")
    return blob[0], blob[1:]


def parse_signer_key(skey: str, kind: int) -> tuple[str, int, bytes]:
    """(name, key id, 32-byte seed) from `PRIVATE+KEY+name+hexid+base64(kind || seed)`; the
    caller derives the public key and must check it against the key id."""
    private, key, name, hex_id, blob64 = split_key(skey.strip(), 5)
    if (private, key) != ("PRIVATE", "KEY"):
        raise NoteError("a signer key starts with PRIVATE+KEY+")
    found, seed = parse_typed_key(name, hex_id, blob64)
    if found != kind or len(seed) != 32:
        raise NoteError(f"not a signer key of type 0x{kind:02x}")
    return name, int(hex_id, 16), seed


def new_signer(skey: str) -> Ed25519Signer:
    """An Ed25519 signer from `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`."""
    name, expected_id, seed = parse_signer_key(skey, ED25519)
    signer = Ed25519Signer(name, seed)
    if signer.key_id != expected_id:
        raise NoteError("signer key id does not match its key")
    return signer


def generate_key(name: str) -> tuple[str, str]:
    """A fresh Ed25519 key pair as (signer key text, verifier key text)."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    signer = Ed25519Signer(name, seed)
    blob = base64.b64encode(bytes([ED25519]) + seed).decode("ascii")
    return f"PRIVATE+KEY+{name}+{signer.key_id:08x}+{blob}", signer.verifier.vkey


def _check_text(text: str) -> None:
    """Valid notes are UTF-8 without control characters other than newline."""
    for char in text:
        if char < " " and char != "\n":
            raise NoteError(f"control character U+{ord(char):04X} in note")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("note is not valid UTF-8") from None


def sign(text: str, *signers: Signer, existing: Iterable[Signature] = ()) -> str:
    """The signed note: `text` (ending in a newline), a blank line, `existing` signature lines
    not replaced by a signer's key, then one line per signer."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_text(text)
    message = text.encode("utf-8")
    fresh = []
    for signer in signers:
        if not is_valid_key_name(signer.name):
            raise NoteError(f"invalid signer name {signer.name!r}")
        fresh.append(Signature(signer.name, signer.key_id, signer.sign(message)))
    replaced = {(sig.name, sig.key_id) for sig in fresh}
    kept = [sig for sig in existing if (sig.name, sig.key_id) not in replaced]
    return text + "\n" + "".join(sig.line() for sig in kept + fresh)


def parse_note(note: str | bytes) -> tuple[str, list[Signature]]:
    """Split a note into its text and signature lines without checking any signature."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise NoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    elif len(note) > MAX_NOTE_BYTES:
        raise NoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("note has no signature lines, or its last line has no newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(EM_DASH_PREFIX):
            raise NoteError("a signature line must start with an em dash (U+2014) and a space")
        name, _, blob64 = line[len(EM_DASH_PREFIX) :].partition(" ")
        if not is_valid_key_name(name) or not blob64:
            raise NoteError(f"malformed signature line for {name!r}")
        blob = decode_base64(blob64, f"signature of {name}")
        if len(blob) < 5:
            raise NoteError(f"signature of {name} is too short")
        signatures.append(Signature(name, struct.unpack(">I", blob[:4])[0], blob[4:]))
    return text, signatures


def open_note(note: str | bytes, known: Iterable[Verifier]) -> OpenedNote:
    """Parse a note and check every signature by a known key (same name AND key id).

    Unknown keys' signatures are returned unverified (that is how witnesses are added without
    breaking old readers); a known key's bad signature rejects the whole note, and so does a
    note that no known key signed (UnverifiedNote)."""
    text, signatures = parse_note(note)
    by_key: dict[tuple[str, int], Verifier] = {}
    for verifier in known:
        key = (verifier.name, verifier.key_id)
        if key in by_key and by_key[key] != verifier:
            raise NoteError(f"two different known keys are both {verifier.name}+{verifier.key_id:08x}")
        by_key[key] = verifier
    message = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for sig in signatures:
        known_key = by_key.get((sig.name, sig.key_id))
        if known_key is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if (sig.name, sig.key_id) in seen:
            continue  # Go drops repeated signatures by one key; so do we
        seen.add((sig.name, sig.key_id))
        if not known_key.verify(message, sig.signature):
            raise NoteError(f"invalid signature by {sig.name}+{sig.key_id:08x}")
        verified.append(sig)
    if not verified:
        raise UnverifiedNote("note is not signed by any known key", unverified)
    return OpenedNote(text, verified, unverified)

"""A verifier from its key text, of either type the log uses: Ed25519 note signatures (0x01, the
log's checkpoints; note.py) and witness cosignatures (0x04; cosign.py). Here, above both modules,
so that neither imports the other's reader of keys."""

from __future__ import annotations

from assembly.audit.cosign import CosignatureVerifier
from assembly.audit.note import (
    COSIGNATURE_V1,
    ED25519,
    Ed25519Verifier,
    NoteError,
    Verifier,
    key_id,
    parse_typed_key,
    split_key,
)


def new_verifier(vkey: str) -> Verifier:
    """A verifier from `name+hexid+base64(type || public key)`: type 0x01 (log signatures) or
    0x04 (witness cosignatures, see cosign.py)."""
    name, hex_id, blob64 = split_key(vkey.strip(), 3)
    kind, public_key = parse_typed_key(name, hex_id, blob64)
    if key_id(name, bytes([kind]) + public_key) != int(hex_id, 16):
        raise NoteError("verifier key id does not match its key")
    if len(public_key) != 32:
        raise NoteError("an Ed25519 public key is 32 bytes")
    if kind == ED25519:
        return Ed25519Verifier(name, public_key)
    if kind == COSIGNATURE_V1:
        return CosignatureVerifier(name, public_key)
    raise NoteError(f"unknown key type 0x{kind:02x}")

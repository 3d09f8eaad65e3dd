"""C2SP tlog-cosignature (cosignature/v1, Ed25519) and the observer's witness 见证.

A cosignature is one more signature line on a checkpoint note, by a witness key of type 0x04:

    — <witness name> base64(keyid || u64 timestamp || Ed25519 signature)

over the message "cosignature/v1\\ntime <timestamp>\\n" + checkpoint body, with
keyid = SHA-256(name || "\\n" || 0x04 || public key)[:4]. A witness cosigns a checkpoint only
when it is consistent with the last one it cosigned for that log; when the log shows it two
incompatible views, it keeps both signed notes as evidence and refuses (ForkDetected).
"""

from __future__ import annotations

import base64
import json
import os
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from assembly.audit.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint
from assembly.audit.merkle import ProofError, verify_consistency
from assembly.audit.note import (
    COSIGNATURE_V1,
    NoteError,
    Signature,
    Verifier,
    is_valid_key_name,
    key_id,
    parse_note,
    parse_signer_key,
)

MAX_TIMESTAMP = 2**63 - 1
STATE_FORMAT = "assembly-witness/1"


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the whole checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError("cosignature timestamp out of range")
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class CosignatureVerifier:
    """Checks a witness's cosignature/v1; plugs into note.open_note like any verifier."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, bytes([COSIGNATURE_V1]) + self.public_key)

    @property
    def vkey(self) -> str:
        blob = base64.b64encode(bytes([COSIGNATURE_V1]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{blob}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 8 + 64:
            return False
        timestamp = struct.unpack(">Q", signature[:8])[0]
        if timestamp > MAX_TIMESTAMP:
            return False
        try:
            message = cosigned_message(text.decode("utf-8"), timestamp)
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature[8:], message)
        except (InvalidSignature, ValueError):
            return False
        return True


def cosignature_time(signature: Signature) -> int:
    """The POSIX time a cosignature says it was made."""
    if len(signature.signature) != 72:
        raise NoteError(f"{signature.name}'s signature is not a cosignature/v1")
    return struct.unpack(">Q", signature.signature[:8])[0]


class Cosigner:
    """A witness key (type 0x04) that cosigns checkpoint notes."""

    def __init__(self, name: str, seed: bytes) -> None:
        if not is_valid_key_name(name) or len(seed) != 32:
            raise NoteError("a cosigner needs a valid name and a 32-byte seed")
        self.name = name
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = CosignatureVerifier(name, public)
        self.key_id = self.verifier.key_id

    def cosign(self, note: str, timestamp: int) -> str:
        """`note` with this witness's cosignature added (replacing an older one of its own)."""
        text, signatures = parse_note(note)
        signed = struct.pack(">Q", timestamp) + self._key.sign(cosigned_message(text, timestamp))
        mine = Signature(self.name, self.key_id, signed)
        kept = [sig for sig in signatures if (sig.name, sig.key_id) != (self.name, self.key_id)]
        return text + "\n" + "".join(sig.line() for sig in [*kept, mine])


def new_cosigner(skey: str) -> Cosigner:
    """A cosigner from `PRIVATE+KEY+name+hexid+base64(0x04 || seed)`."""
    name, expected_id, seed = parse_signer_key(skey, COSIGNATURE_V1)
    cosigner = Cosigner(name, seed)
    if cosigner.key_id != expected_id:
        raise NoteError("witness key id does not match its key")
    return cosigner


def generate_witness_key(name: str) -> tuple[str, str]:
    """A fresh witness key pair as (signer key text, verifier key text)."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    cosigner = Cosigner(name, seed)
    blob = base64.b64encode(bytes([COSIGNATURE_V1]) + seed).decode("ascii")
    return f"PRIVATE+KEY+{name}+{cosigner.key_id:08x}+{blob}", cosigner.verifier.vkey


# --- the witness -----------------------------------------------------------------------------


class WitnessError(NoteError):
    """The witness refuses to cosign; nothing was changed."""


class StaleCheckpoint(WitnessError):
    """A checkpoint smaller than one already cosigned: a witness only moves forward."""


class ForkDetected(WitnessError):
    """The log signed two views that cannot both be true. Both notes are kept as evidence."""

    def __init__(self, message: str, *, origin: str, cosigned_note: str, conflicting_note: str, evidence: Path) -> None:
        super().__init__(message)
        self.origin = origin
        self.cosigned_note = cosigned_note
        self.conflicting_note = conflicting_note
        self.evidence = evidence


class Witness:
    """An observer's witness: remembers, per log, the last checkpoint it cosigned (in a small
    JSON file at `state_path`) and cosigns a new one only if a consistency proof links them.
    The first checkpoint of a log is taken on trust (the observer checks it once with
    `assembly audit verify`); every later one must extend it."""

    def __init__(self, cosigner: Cosigner, state_path: Path, logs: Iterable[Verifier]) -> None:
        self.cosigner = cosigner
        self.state_path = Path(state_path)
        self.logs = {verifier.name: verifier for verifier in logs}

    @property
    def forks_dir(self) -> Path:
        return self.state_path.parent / "forks"

    def last(self, origin: str) -> dict | None:
        """The last cosigned checkpoint for `origin`: {size, root, note, time} or None."""
        return self._load()["logs"].get(origin)

    def cosign(self, note: str, proof: Sequence[bytes] = (), *, now: int | None = None) -> str:
        """Cosign `note` if it extends the last cosigned checkpoint of its log by `proof`
        (a consistency proof from the old size to the new). Returns the cosigned note."""
        checkpoint = parse_checkpoint(parse_note(note)[0])
        verifier = self.logs.get(checkpoint.origin)
        if verifier is None:
            raise WitnessError(f"this witness does not follow the log {checkpoint.origin}")
        checkpoint, _ = open_checkpoint(note, verifier)
        state = self._load()
        last = state["logs"].get(checkpoint.origin)
        if last is not None:
            self._check_extends(last, checkpoint, note, proof)
        timestamp = int(time.time()) if now is None else now
        cosigned = self.cosigner.cosign(note, timestamp)
        state["logs"][checkpoint.origin] = {
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode("ascii"),
            "note": cosigned,
            "time": timestamp,
        }
        self._save(state)
        return cosigned

    def _check_extends(self, last: dict, checkpoint: Checkpoint, note: str, proof: Sequence[bytes]) -> None:
        old_size, old_root = last["size"], base64.b64decode(last["root"])
        if checkpoint.size < old_size:
            raise StaleCheckpoint(f"already cosigned size {old_size}; refusing older size {checkpoint.size}")
        if old_size == 0:
            return  # every tree extends the empty one
        try:
            verify_consistency(old_size, checkpoint.size, list(proof), old_root, checkpoint.root)
        except ProofError as exc:
            evidence = self._keep_evidence(last["note"], note, proof, str(exc))
            raise ForkDetected(
                f"log {checkpoint.origin} at size {checkpoint.size} is not shown consistent with the "
                f"cosigned size {old_size} ({exc}); both notes kept in {evidence}",
                origin=checkpoint.origin,
                cosigned_note=last["note"],
                conflicting_note=note,
                evidence=evidence,
            ) from exc

    def _keep_evidence(self, cosigned: str, conflicting: str, proof: Sequence[bytes], reason: str) -> Path:
        old = parse_checkpoint(parse_note(cosigned)[0])
        new = parse_checkpoint(parse_note(conflicting)[0])
        stem = f"{old.origin.replace('/', '_')}-{old.size}-{new.size}"
        folder = self.forks_dir / stem
        suffix = 1
        while folder.exists():
            suffix += 1
            folder = self.forks_dir / f"{stem}-{suffix}"
        folder.mkdir(parents=True)
        (folder / "cosigned.checkpoint").write_text(cosigned, encoding="utf-8")
        (folder / "conflicting.checkpoint").write_text(conflicting, encoding="utf-8")
        proof_lines = "".join(base64.b64encode(digest).decode("ascii") + "\n" for digest in proof)
        (folder / "proof.txt").write_text(proof_lines, encoding="utf-8")
        (folder / "reason.txt").write_text(reason + "\n", encoding="utf-8")
        return folder

    def _load(self) -> dict:
        if not self.state_path.exists():
            return {"format": STATE_FORMAT, "logs": {}}
        state = json.loads(self.state_path.read_text(encoding="utf-8"))
        if state.get("format") != STATE_FORMAT:
            raise WitnessError(f"{self.state_path} is not a witness state file")
        return state

    def _save(self, state: dict) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.state_path)

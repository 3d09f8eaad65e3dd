"""C2SP tlog-checkpoint: the signed statement "estate E's log has n entries and this root".

Body: `<origin>\\n<size>\\n<base64 root>\\n` and optional non-empty extension lines, signed as a
note by the platform's key, whose name is the origin (`<site host>/estate/<estate id>`).
Witness cosignatures are further signature lines on the same note (cosign.py).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from assembly.audit.merkle import HASH_SIZE
from assembly.audit.note import NoteError, OpenedNote, Signer, Verifier, decode_base64, open_note, sign


class CheckpointError(NoteError):
    """A checkpoint body that does not follow c2sp.org/tlog-checkpoint."""


def estate_origin(site_host: str, estate_id: object) -> str:
    """The origin line (and log key name) of one estate's log: `<site host>/estate/<id>`."""
    host = site_host.strip().rstrip("/")
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme) :]
    origin = f"{host}/estate/{estate_id}"
    if not host or "+" in origin or any(char.isspace() for char in origin):
        raise CheckpointError(f"cannot make an origin from {site_host!r} and {estate_id!r}")
    return origin


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The note text that is signed."""
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("origin must be one non-empty line")
        if self.size < 0 or len(self.root) != HASH_SIZE:
            raise CheckpointError("a checkpoint needs a size >= 0 and a 32-byte root")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError("extension lines must be non-empty single lines")
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii"), *self.extensions]
        return "\n".join(lines) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint body (the note text, signatures already split off)."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has at least three lines: origin, size, root")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin is empty")
    if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError(f"checkpoint size {size_text!r} is not a decimal without leading zeros")
    try:
        root = decode_base64(root_text, "checkpoint root")
    except NoteError as exc:
        raise CheckpointError(str(exc)) from None
    if len(root) != HASH_SIZE or base64.b64encode(root).decode("ascii") != root_text:
        raise CheckpointError("checkpoint root is not the base64 of a 32-byte hash")
    if any(not line for line in extensions):
        raise CheckpointError("checkpoint extension lines must not be empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed checkpoint note. The log's key name must be the origin, as C2SP recommends."""
    if signer.name != checkpoint.origin:
        raise CheckpointError(f"log key {signer.name!r} does not match origin {checkpoint.origin!r}")
    return sign(checkpoint.body(), signer)


def open_checkpoint(
    note: str | bytes,
    log_verifier: Verifier,
    witnesses: Iterable[Verifier] = (),
    *,
    origin: str | None = None,
) -> tuple[Checkpoint, OpenedNote]:
    """Check a checkpoint note: signed by the log's key, origin as expected, witness
    cosignatures valid where present. Returns the checkpoint and the opened note (whose
    `verified` list says which witnesses cosigned)."""
    opened = open_note(note, [log_verifier, *witnesses])
    if not any(sig.name == log_verifier.name and sig.key_id == log_verifier.key_id for sig in opened.verified):
        raise NoteError(f"checkpoint is not signed by the log key {log_verifier.name}")
    checkpoint = parse_checkpoint(opened.text)
    expected = origin if origin is not None else log_verifier.name
    if checkpoint.origin != expected:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {expected!r}")
    return checkpoint, opened

"""Voter receipts 投票回执 in the C2SP tlog-proof form (c2sp.org/tlog-proof@v1).

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry>        (optional)
    index <entry index>
    <base64 audit path hash>           (zero or more, leaf's sibling first)

    <the signed checkpoint note, verbatim, with any cosignatures>

Our receipts put the ballot entry's own bytes in `extra`, so the page a voter keeps holds
everything needed to check it offline: the entry (commitment, time, member pseudonym), where
it sits, and the signed root. `extra` is not trusted: its hash must be the proven leaf.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from assembly.audit.checkpoint import open_checkpoint
from assembly.audit.merkle import HASH_SIZE, HashReader, ProofError, leaf_hash, prove_record, verify_inclusion
from assembly.audit.note import NoteError
from assembly.audit.verifiers import new_verifier

HEADER = "c2sp.org/tlog-proof@v1"


class ReceiptError(ValueError):
    """Text that is not a tlog-proof receipt."""


class LeafHash(bytes):
    """A leaf hash given instead of the entry itself (so the two cannot be confused)."""

    def __new__(cls, value: bytes) -> LeafHash:
        if len(value) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
        return super().__new__(cls, value)


@dataclass(frozen=True)
class Receipt:
    index: int
    proof: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim
    extra: bytes | None = None


def make_receipt(
    index: int, tree_size: int, read_hashes: HashReader, checkpoint_note: str, entry: bytes | None = None
) -> str:
    """The receipt for entry `index` under a checkpoint of `tree_size` (which must include it)."""
    proof = prove_record(tree_size, index, read_hashes)
    return format_receipt(Receipt(index, tuple(proof), checkpoint_note, entry))


def format_receipt(receipt: Receipt) -> str:
    lines = [HEADER]
    if receipt.extra is not None:
        lines.append("extra " + base64.b64encode(receipt.extra).decode("ascii"))
    lines.append(f"index {receipt.index}")
    lines.extend(base64.b64encode(digest).decode("ascii") for digest in receipt.proof)
    return "\n".join(lines) + "\n\n" + receipt.checkpoint


def parse_receipt(text: str) -> Receipt:
    """Read a receipt strictly: header, optional extra, index, 32-byte hashes, blank line, note."""
    text = text.replace("\r\n", "\n")  # a receipt copied through e-mail or a browser may gain CRs
    head, separator, checkpoint = text.partition("\n\n")
    if not separator or not checkpoint:
        raise ReceiptError("receipt has no blank line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ReceiptError(f"receipt does not start with {HEADER}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _b64(lines[position][len("extra ") :], "extra data")
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise ReceiptError("receipt has no index line")
    index_text = lines[position][len("index ") :]
    if not index_text.isascii() or not index_text.isdigit() or (index_text != "0" and index_text.startswith("0")):
        raise ReceiptError(f"receipt index {index_text!r} is not a decimal without leading zeros")
    proof = []
    for line in lines[position + 1 :]:
        digest = _b64(line, "proof hash")
        if len(digest) != HASH_SIZE:
            raise ReceiptError(f"proof hash is {len(digest)} bytes, not {HASH_SIZE}")
        proof.append(digest)
    return Receipt(int(index_text), tuple(proof), checkpoint, extra)


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ReceiptError(f"receipt {what} is not base64") from None


@dataclass
class ReceiptCheck:
    """What checking a receipt found, in plain words."""

    ok: bool
    problem: str | None = None
    index: int | None = None
    tree_size: int | None = None
    origin: str | None = None
    leaf_hash: str | None = None  # hex
    entry: bytes | None = None
    witnesses: list[str] = field(default_factory=list)


def verify_receipt(
    text: str, entry_or_leaf_hash: bytes | LeafHash | None, verifier_keys: Sequence[str] | Iterable[str]
) -> ReceiptCheck:
    """Check a receipt offline. `verifier_keys` are vkey texts, the log's first (as in an
    export's `keys` file), witnesses after. `entry_or_leaf_hash` is the entry's bytes, a
    LeafHash, or None to use the entry carried in the receipt's `extra` line."""
    check = ReceiptCheck(ok=False)
    try:
        receipt = parse_receipt(text)
        check.index = receipt.index
        keys = [new_verifier(key) for key in verifier_keys if key.strip()]
        if not keys:
            raise ReceiptError("no verifier keys given")
        checkpoint, opened = open_checkpoint(receipt.checkpoint, keys[0], keys[1:])
    except (ReceiptError, NoteError) as exc:
        check.problem = str(exc)
        return check
    check.tree_size, check.origin = checkpoint.size, checkpoint.origin
    check.witnesses = [sig.name for sig in opened.verified if sig.name != keys[0].name]
    if entry_or_leaf_hash is None:
        if receipt.extra is None:
            check.problem = "the receipt carries no entry and none was given"
            return check
        entry_or_leaf_hash = receipt.extra
    elif isinstance(receipt.extra, bytes) and not isinstance(entry_or_leaf_hash, LeafHash) \
            and receipt.extra != entry_or_leaf_hash:
        check.problem = "the entry given differs from the entry the receipt carries"
        return check
    if isinstance(entry_or_leaf_hash, LeafHash):
        leaf = bytes(entry_or_leaf_hash)
    else:
        leaf = leaf_hash(entry_or_leaf_hash)
        check.entry = bytes(entry_or_leaf_hash)
    check.leaf_hash = leaf.hex()
    try:
        verify_inclusion(receipt.index, checkpoint.size, leaf, receipt.proof, checkpoint.root)
    except ProofError as exc:
        check.problem = str(exc)
        return check
    check.ok = True
    return check

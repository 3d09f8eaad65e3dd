"""The RFC 6962 Merkle tree of an estate's audit log: hashes, proofs and their verification.

Stored hashes follow the Go sumdb layout (golang.org/x/mod/sumdb/tlog, after Crosby and
Wallach): every leaf hash and every hash of a complete subtree gets a dense integer index,
written once when the record that completes it is appended and never changed. A database keeps
one row per stored hash; everything here reads them through a *hash reader*,
`read_hashes(indexes) -> hashes`, called once per operation with at most about 2·log2(n)
indexes, so a proof costs one query. Proofs are the RFC 6962 audit paths and consistency proofs;
the verifiers are those of RFC 9162 2.1.3.2 and 2.1.4.2.

Unlike Go's TreeHash, the empty tree's root is SHA-256 of the empty string (RFC 6962 2.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

HashReader = Callable[[list[int]], Sequence[bytes]]


class ProofError(ValueError):
    """A proof that does not prove what it claims; the message says which part failed."""


# --- hashes ---------------------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry): the 0x00 prefix keeps a leaf from passing for an inner node."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than `size` (size >= 2): RFC 6962's k."""
    return 1 << ((size - 1).bit_length() - 1)


def _full(size: int) -> int:
    """The largest power of two not larger than `size` (size >= 1)."""
    return 1 << (size.bit_length() - 1)


class CompactRange:
    """The roots of the perfect subtrees covering leaves [0, size): enough to compute the tree
    root after every append with O(log n) memory, so a verifier can stream a million entries."""

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[tuple[int, bytes]] = []  # (height, hash), heights strictly decreasing

    def append(self, leaf: bytes) -> None:
        height, digest = 0, leaf
        while self._peaks and self._peaks[-1][0] == height:
            _, left = self._peaks.pop()
            digest = node_hash(left, digest)
            height += 1
        self._peaks.append((height, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        digest = self._peaks[-1][1]
        for _, left in reversed(self._peaks[:-1]):
            digest = node_hash(left, digest)
        return digest


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """The Merkle tree hash (MTH) of a list of leaf hashes."""
    compact = CompactRange()
    for leaf in leaf_hashes:
        compact.append(leaf)
    return compact.root()


# --- stored hash layout (Go sumdb tlog) ------------------------------------------------------


def stored_hash_index(level: int, n: int) -> int:
    """Where the n-th hash of `level` lives: level L's n-th hash is stored right after level
    L+1's (2n+1)-th, and level 0's n-th at n + n/2 + n/4 + ... = 2n - popcount(n)."""
    if level < 0 or n < 0:
        raise ValueError("level and n must not be negative")
    n = ((n + 1) << level) - 1
    return 2 * n - n.bit_count() + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """The inverse of stored_hash_index: (level, n)."""
    if index < 0:
        raise ValueError("index must not be negative")
    n = index // 2
    index_n = stored_hash_index(0, n)
    while True:
        # Record n adds 1 + (trailing one bits of n) hashes.
        following = index_n + 1 + _trailing_zeros(n + 1)
        if following > index:
            break
        n += 1
        index_n = following
    level = index - index_n
    return level, n >> level


def stored_hash_count(n: int) -> int:
    """How many hashes are stored for a tree of n records."""
    if n == 0:
        return 0
    return stored_hash_index(0, n - 1) + 1 + _trailing_zeros(n)


def _trailing_zeros(x: int) -> int:
    return (x & -x).bit_length() - 1


def _read(read_hashes: HashReader, indexes: list[int]) -> list[bytes]:
    if not indexes:
        return []
    hashes = list(read_hashes(indexes))
    if len(hashes) != len(indexes):
        raise LookupError(f"hash reader returned {len(hashes)} hashes for {len(indexes)} indexes")
    for index, digest in zip(indexes, hashes, strict=True):
        if len(digest) != HASH_SIZE:
            raise LookupError(f"stored hash {index} is {len(digest)} bytes, not {HASH_SIZE}")
    return hashes


def stored_hashes_for_record(n: int, leaf: bytes, read_hashes: HashReader) -> list[bytes]:
    """The hashes to store, from index stored_hash_index(0, n) on, when appending record n:
    its leaf hash, then one hash per subtree it completes (Go's StoredHashesForRecordHash)."""
    if n < 0:
        raise ValueError("record number must not be negative")
    completed = _trailing_zeros(n + 1)
    indexes = [stored_hash_index(level, (n >> level) - 1) for level in reversed(range(completed))]
    siblings = _read(read_hashes, indexes)
    hashes = [leaf]
    digest = leaf
    for level in range(completed):
        digest = node_hash(siblings[completed - 1 - level], digest)
        hashes.append(digest)
    return hashes


def _subtree_indexes(lo: int, hi: int, need: list[int]) -> None:
    """Indexes of the stored perfect subtrees covering [lo, hi), largest first."""
    while lo < hi:
        k = _full(hi - lo)
        level = k.bit_length() - 1
        need.append(stored_hash_index(level, lo >> level))
        lo += k


def _subtree_hash(lo: int, hi: int, hashes: list[bytes], at: int) -> tuple[bytes, int]:
    """Hash of [lo, hi) from the hashes named by _subtree_indexes, starting at hashes[at]."""
    count = 0
    while lo < hi:
        lo += _full(hi - lo)
        count += 1
    digest = hashes[at + count - 1]
    for position in range(at + count - 2, at - 1, -1):
        digest = node_hash(hashes[position], digest)
    return digest, at + count


def tree_hash(n: int, read_hashes: HashReader) -> bytes:
    """The root of the tree of the first n records, from at most 1 + log2(n) stored hashes."""
    if n < 0:
        raise ValueError("tree size must not be negative")
    if n == 0:
        return EMPTY_ROOT
    need: list[int] = []
    _subtree_indexes(0, n, need)
    digest, _ = _subtree_hash(0, n, _read(read_hashes, need), 0)
    return digest


# --- proofs ----------------------------------------------------------------------------------


def _record_proof_indexes(lo: int, hi: int, n: int, need: list[int]) -> None:
    if hi - lo == 1:
        return
    k = _split(hi - lo)
    if n < lo + k:
        _record_proof_indexes(lo, lo + k, n, need)
        _subtree_indexes(lo + k, hi, need)
    else:
        _subtree_indexes(lo, lo + k, need)
        _record_proof_indexes(lo + k, hi, n, need)


def _record_proof(lo: int, hi: int, n: int, hashes: list[bytes], at: int) -> tuple[list[bytes], int]:
    if hi - lo == 1:
        return [], at
    k = _split(hi - lo)
    if n < lo + k:
        proof, at = _record_proof(lo, lo + k, n, hashes, at)
        sibling, at = _subtree_hash(lo + k, hi, hashes, at)
    else:
        sibling, at = _subtree_hash(lo, lo + k, hashes, at)
        proof, at = _record_proof(lo + k, hi, n, hashes, at)
    proof.append(sibling)
    return proof, at


def prove_record(t: int, n: int, read_hashes: HashReader) -> list[bytes]:
    """The audit path (RFC 6962 2.1.1) showing record n is in the tree of size t, leaf first."""
    if not 0 <= n < t:
        raise ValueError(f"record {n} is not in a tree of size {t}")
    need: list[int] = []
    _record_proof_indexes(0, t, n, need)
    proof, _ = _record_proof(0, t, n, _read(read_hashes, need), 0)
    return proof


def _tree_proof_indexes(lo: int, hi: int, n: int, need: list[int]) -> None:
    if n == hi:
        if lo != 0:
            _subtree_indexes(lo, hi, need)
        return
    k = _split(hi - lo)
    if n <= lo + k:
        _tree_proof_indexes(lo, lo + k, n, need)
        _subtree_indexes(lo + k, hi, need)
    else:
        _subtree_indexes(lo, lo + k, need)
        _tree_proof_indexes(lo + k, hi, n, need)


def _tree_proof(lo: int, hi: int, n: int, hashes: list[bytes], at: int) -> tuple[list[bytes], int]:
    if n == hi:
        if lo == 0:  # this subtree is the old tree itself: the verifier knows its root
            return [], at
        digest, at = _subtree_hash(lo, hi, hashes, at)
        return [digest], at
    k = _split(hi - lo)
    if n <= lo + k:
        proof, at = _tree_proof(lo, lo + k, n, hashes, at)
        sibling, at = _subtree_hash(lo + k, hi, hashes, at)
    else:
        sibling, at = _subtree_hash(lo, lo + k, hashes, at)
        proof, at = _tree_proof(lo + k, hi, n, hashes, at)
    proof.append(sibling)
    return proof, at


def prove_tree(t: int, n: int, read_hashes: HashReader) -> list[bytes]:
    """The consistency proof (RFC 6962 2.1.2) that the tree of size t extends the one of size n."""
    if not 0 < n <= t:
        raise ValueError(f"no consistency proof from size {n} to size {t} (need 0 < {n} <= {t})")
    need: list[int] = []
    _tree_proof_indexes(0, t, n, need)
    proof, _ = _tree_proof(0, t, n, _read(read_hashes, need), 0)
    return proof


# --- verification (RFC 9162) -----------------------------------------------------------------


def _check_hashes(proof: Sequence[bytes]) -> None:
    for position, digest in enumerate(proof):
        if len(digest) != HASH_SIZE:
            raise ProofError(f"proof hash {position} is {len(digest)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(leaf_index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` implies for `leaf` at `leaf_index` (RFC 9162 2.1.3.2, steps 1-5)."""
    if not 0 <= leaf_index < tree_size:
        raise ProofError(f"leaf index {leaf_index} is outside a tree of size {tree_size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf)} bytes, not {HASH_SIZE}")
    _check_hashes(proof)
    fn, sn, digest = leaf_index, tree_size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError(f"audit path is too long for leaf {leaf_index} of {tree_size}")
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"audit path is too short for leaf {leaf_index} of {tree_size}")
    return digest


def verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless `proof` shows `leaf` at `leaf_index` in the tree with `root`."""
    if root_from_inclusion_proof(leaf_index, tree_size, leaf, proof) != root:
        raise ProofError(f"audit path for leaf {leaf_index} leads to a different root than the checkpoint's")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Raise ProofError unless `proof` shows the tree (size2, root2) extends (size1, root1)
    (RFC 9162 2.1.4.2). Equal sizes need an empty proof and equal roots; a proof from the empty
    tree proves nothing and is refused, as in the transparency-dev/merkle test vectors."""
    if size1 > size2:
        raise ProofError(f"the old tree ({size1}) is larger than the new one ({size2})")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if size1 == size2:
        if proof:
            raise ProofError("equal tree sizes need an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}")
        return
    if not proof:
        raise ProofError(f"empty consistency proof from size {size1} to {size2}")
    _check_hashes(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: the old root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old = new = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof from {size1} to {size2} is too long")
        if fn & 1 or fn == sn:
            old = node_hash(node, old)
            new = node_hash(node, new)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new = node_hash(new, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof from {size1} to {size2} is too short")
    if old != root1:
        raise ProofError(f"consistency proof does not lead to the old root at size {size1}")
    if new != root2:
        raise ProofError(f"consistency proof does not lead to the new root at size {size2}")


# --- in-memory store -------------------------------------------------------------------------


class MemoryHashStore:
    """All stored hashes of one log in a Python list, in the sumdb layout: for tests, the
    offline verifier and export tools. A database store offers the same `read_hashes`."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.size = 0

    def read_hashes(self, indexes: list[int]) -> list[bytes]:
        try:
            return [self.hashes[index] for index in indexes]
        except IndexError:
            raise LookupError(f"stored hash missing among {indexes} (have {len(self.hashes)})") from None

    def append_leaf_hash(self, leaf: bytes) -> int:
        """Append one record by its leaf hash; returns its index."""
        n = self.size
        self.hashes.extend(stored_hashes_for_record(n, leaf, self.read_hashes))
        self.size = n + 1
        return n

    def append(self, entry: bytes) -> int:
        return self.append_leaf_hash(leaf_hash(entry))

    def tree_hash(self, n: int | None = None) -> bytes:
        return tree_hash(self.size if n is None else n, self.read_hashes)

    def prove_record(self, t: int, n: int) -> list[bytes]:
        return prove_record(t, n, self.read_hashes)

    def prove_tree(self, t: int, n: int) -> list[bytes]:
        return prove_tree(t, n, self.read_hashes)

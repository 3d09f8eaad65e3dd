"""The stored-hash tree against RFC 6962 section 2.1 written out literally (MTH, PATH, PROOF),
for every tree size up to 300 and every leaf / old size in them."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly.audit.merkle import (
    CompactRange,
    MemoryHashStore,
    ProofError,
    leaf_hash,
    node_hash,
    prove_record,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300
ENTRIES = [b"entry %d" % i for i in range(MAX_SIZE)]


# --- RFC 6962 2.1, literally -----------------------------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi])."""
    if hi == lo:
        return hashlib.sha256(b"").digest()
    if hi - lo == 1:
        return hashlib.sha256(b"\x00" + ENTRIES[lo]).digest()
    k = _k(hi - lo)
    return hashlib.sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi)).digest()


def path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]), m relative to lo."""
    if hi - lo == 1:
        return []
    k = _k(hi - lo)
    if m < k:
        return path(m, lo, lo + k) + [mth(lo + k, hi)]
    return path(m - k, lo + k, hi) + [mth(lo, lo + k)]


def subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b)."""
    n = hi - lo
    if m == n:
        return [] if complete else [mth(lo, hi)]
    k = _k(n)
    if m <= k:
        return subproof(m, lo, lo + k, complete) + [mth(lo + k, hi)]
    return subproof(m - k, lo + k, hi, False) + [mth(lo, lo + k)]


@pytest.fixture(scope="module")
def store() -> MemoryHashStore:
    store = MemoryHashStore()
    for entry in ENTRIES:
        store.append(entry)
    return store


# --- exhaustive ------------------------------------------------------------------------------


def test_tree_hash_and_compact_range_equal_mth_for_every_size(store):
    compact = CompactRange()
    assert store.tree_hash(0) == mth(0, 0)
    for n in range(1, MAX_SIZE + 1):
        compact.append(leaf_hash(ENTRIES[n - 1]))
        assert store.tree_hash(n) == mth(0, n), n
        assert compact.root() == mth(0, n), n


def test_stored_hash_layout(store):
    assert len(store.hashes) == stored_hash_count(MAX_SIZE)
    for index in range(len(store.hashes)):
        level, n = split_stored_hash_index(index)
        assert stored_hash_index(level, n) == index
        # The hash stored there is the root of the perfect subtree it names.
        assert store.hashes[index] == mth(n << level, (n + 1) << level)


def test_every_inclusion_proof_is_rfc6962_path_and_verifies(store):
    for size in range(1, MAX_SIZE + 1):
        root = mth(0, size)
        for index in range(size):
            proof = store.prove_record(size, index)
            assert proof == path(index, 0, size), (size, index)
            verify_inclusion(index, size, leaf_hash(ENTRIES[index]), proof, root)


def test_every_consistency_proof_is_rfc6962_proof_and_verifies(store):
    for size2 in range(1, MAX_SIZE + 1):
        root2 = mth(0, size2)
        for size1 in range(1, size2 + 1):
            proof = store.prove_tree(size2, size1)
            assert proof == subproof(size1, 0, size2, True), (size1, size2)
            verify_consistency(size1, size2, proof, mth(0, size1), root2)


# --- negative properties ---------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_changed_inclusion_proof_never_verifies(store, data):
    size = data.draw(st.integers(2, MAX_SIZE))
    index = data.draw(st.integers(0, size - 1))
    proof = store.prove_record(size, index)
    leaf, root = leaf_hash(ENTRIES[index]), mth(0, size)
    # (A wrong tree size alone is not an attack: the checkpoint signs size and root together,
    # and RFC 9162 verification may accept a path for sizes of the same shape.)
    attack = data.draw(st.sampled_from(["flip", "drop", "extra", "index", "leaf"]))
    if attack == "flip":
        position = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        changed = bytearray(proof[position])
        changed[bit // 8] ^= 1 << (bit % 8)
        proof[position] = bytes(changed)
    elif attack == "drop":
        proof.pop(data.draw(st.integers(0, len(proof) - 1)))
    elif attack == "extra":
        proof.insert(data.draw(st.integers(0, len(proof))), mth(0, 1))
    elif attack == "index":
        index = data.draw(st.integers(0, size - 1).filter(lambda other: other != index))
    else:
        leaf = leaf_hash(b"not " + ENTRIES[index])
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, root)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_changed_consistency_proof_never_verifies(store, data):
    size2 = data.draw(st.integers(2, MAX_SIZE))
    size1 = data.draw(st.integers(1, size2 - 1))
    proof = store.prove_tree(size2, size1)
    root1, root2 = mth(0, size1), mth(0, size2)
    attack = data.draw(st.sampled_from(["flip", "drop", "extra", "root1", "root2"]))
    if attack == "flip":
        position = data.draw(st.integers(0, len(proof) - 1))
        proof[position] = bytes([proof[position][0] ^ 0x10]) + proof[position][1:]
    elif attack == "drop":
        proof.pop(data.draw(st.integers(0, len(proof) - 1)))
    elif attack == "extra":
        proof.insert(data.draw(st.integers(0, len(proof))), root1)
    elif attack == "root1":
        root1 = mth(0, size1 - 1) if size1 > 1 else mth(1, 2)
    else:
        root2 = mth(0, size2 - 1)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, root1, root2)


def test_hash_reader_is_asked_once_with_few_indexes(store):
    """A database serves a proof in one query of O(log n) rows."""
    calls: list[list[int]] = []

    def counting_reader(indexes: list[int]) -> list[bytes]:
        calls.append(indexes)
        return store.read_hashes(indexes)

    for size, index in [(300, 0), (300, 299), (257, 128), (256, 255)]:
        calls.clear()
        prove_record(size, index, counting_reader)
        assert len(calls) == 1
        assert len(calls[0]) <= 2 * size.bit_length()


def test_a_short_read_is_refused(store):
    with pytest.raises(LookupError):
        prove_record(100, 5, lambda indexes: store.read_hashes(indexes)[:-1])


def test_compact_range_memory_is_logarithmic():
    compact = CompactRange()
    for i in range(70_000):
        compact.append(node_hash(b"%d" % i, b""))
        assert len(compact._peaks) == bin(compact.size).count("1")
    assert len(compact._peaks) <= 17

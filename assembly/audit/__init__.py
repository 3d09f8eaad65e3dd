"""The audit log 审计日志: one append-only RFC 6962 Merkle-tree log per estate, with C2SP signed
checkpoints, witness cosignatures, tlog-proof receipts, exports and an offline verifier
(shared/spec/audit-log.md). Everything in this package is pure: no database, no clock, no
network; the modules are

    jcs          RFC 8785 canonical JSON: the bytes of an entry
    entries      the entry types the verifier relies on, their fields, make_entry()
    merkle       leaf/node hashes, stored-hash layout, tree_hash, prove_record/prove_tree,
                 RFC 9162 verifiers, MemoryHashStore
    note         C2SP signed notes, Ed25519 keys in vkey / PRIVATE+KEY text form
    checkpoint   C2SP tlog-checkpoint body, origin `<site host>/estate/<estate id>`
    cosign       C2SP tlog-cosignature (cosignature/v1) and the observer's Witness
    receipt      C2SP tlog-proof receipts and verify_receipt()
    verify       the offline export verifier (with semantics.py and report.py)
    export       writing an export directory

Plugging in a database-backed store
-----------------------------------
Store one row per stored hash, keyed by (estate, stored hash index), in the Go sumdb layout
(`merkle.stored_hash_index`). Everything reads through a *hash reader*, a function
`read_hashes(indexes: list[int]) -> list[bytes]` that returns the 32-byte hashes in the order
asked; each operation calls it once with at most about 2·log2(n) indexes, so one query::

    def reader(session, estate_id):
        def read_hashes(indexes):
            rows = session.execute(select(AuditHash.idx, AuditHash.hash)
                                   .where(AuditHash.estate_id == estate_id, AuditHash.idx.in_(indexes)))
            found = dict(rows.all())
            return [found[i] for i in indexes]          # KeyError if one is missing
        return read_hashes

Appending entry n (under the estate's sequencer lock, in the same transaction as the change
it records)::

    entry = make_entry("ballot.cast", at, actor, index=n, motion=..., ...)
    hashes = merkle.stored_hashes_for_record(n, merkle.leaf_hash(entry), read_hashes)
    first = merkle.stored_hash_index(0, n)
    insert AuditEntry(estate_id, n, entry) and AuditHash(estate_id, first + k, h) for k, h in enumerate(hashes)

Then `merkle.tree_hash(size, read_hashes)` gives the root to put in a `checkpoint.Checkpoint`
(sign with `checkpoint.sign_checkpoint`), `merkle.prove_record(size, n, read_hashes)` a
receipt's audit path (`receipt.make_receipt`), and `merkle.prove_tree(new, old, read_hashes)`
the consistency proof a witness needs. `merkle.MemoryHashStore` is the reference reader.
"""

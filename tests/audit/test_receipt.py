"""Voter receipts in the C2SP tlog-proof form: made from the hash store, checked offline."""

from __future__ import annotations

import base64

import pytest

from assembly.audit.checkpoint import Checkpoint, sign_checkpoint
from assembly.audit.merkle import MemoryHashStore, leaf_hash
from assembly.audit.receipt import (
    HEADER,
    LeafHash,
    Receipt,
    ReceiptError,
    format_receipt,
    make_receipt,
    parse_receipt,
    verify_receipt,
)

from .builders import ORIGIN

SPEC_HEAD = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

"""


def entries(count: int) -> list[bytes]:
    return [b'{"index":%d,"type":"ballot.cast"}' % i for i in range(count)]


@pytest.fixture
def estate_log(log_signer):
    store = MemoryHashStore()
    logged = entries(21)
    for entry in logged:
        store.append(entry)
    note = sign_checkpoint(Checkpoint(ORIGIN, 21, store.tree_hash(21)), log_signer)
    return store, logged, note


def test_spec_example_head_parses():
    # The C2SP example with our own (real) note after the blank line.
    receipt = parse_receipt(SPEC_HEAD + "origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\n— o x\n")
    assert receipt.index == 73894
    assert len(receipt.proof) == 5
    assert receipt.extra == base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")


def test_every_entry_gets_a_receipt_that_checks(estate_log, log_signer):
    store, logged, note = estate_log
    for index, entry in enumerate(logged):
        text = make_receipt(index, 21, store.read_hashes, note, entry)
        assert text.startswith(HEADER + "\nextra ")
        check = verify_receipt(text, None, [log_signer.verifier.vkey])
        assert check.ok, check.problem
        assert (check.index, check.tree_size, check.origin, check.entry) == (index, 21, ORIGIN, entry)
        assert verify_receipt(text, entry, [log_signer.verifier.vkey]).ok
        assert verify_receipt(text, LeafHash(leaf_hash(entry)), [log_signer.verifier.vkey]).ok


def test_format_and_parse_are_inverse(estate_log):
    store, logged, note = estate_log
    receipt = Receipt(7, tuple(store.prove_record(21, 7)), note, logged[7])
    assert parse_receipt(format_receipt(receipt)) == receipt
    plain = Receipt(7, tuple(store.prove_record(21, 7)), note)
    assert "extra" not in format_receipt(plain)
    assert parse_receipt(format_receipt(plain)) == plain


def test_receipt_for_another_entry_fails(estate_log, log_signer):
    store, logged, note = estate_log
    text = make_receipt(3, 21, store.read_hashes, note)
    check = verify_receipt(text, logged[4], [log_signer.verifier.vkey])
    assert not check.ok and "different root" in check.problem


def test_given_entry_must_match_the_carried_one(estate_log, log_signer):
    store, logged, note = estate_log
    text = make_receipt(3, 21, store.read_hashes, note, logged[3])
    assert not verify_receipt(text, logged[4], [log_signer.verifier.vkey]).ok


def test_receipt_signed_by_another_key_fails(estate_log, other_signer, log_signer):
    store, logged, _ = estate_log
    forged = sign_checkpoint(Checkpoint(ORIGIN, 21, store.tree_hash(21)), other_signer)
    check = verify_receipt(make_receipt(2, 21, store.read_hashes, forged, logged[2]), None, [log_signer.verifier.vkey])
    assert not check.ok and "not signed by any known key" in check.problem


@pytest.mark.parametrize("tamper", ["index", "hash", "drop", "size"])
def test_tampered_receipts_fail(estate_log, log_signer, tamper):
    store, logged, note = estate_log
    text = make_receipt(9, 21, store.read_hashes, note, logged[9])
    lines = text.split("\n")
    if tamper == "index":
        text = text.replace("index 9\n", "index 8\n")
    elif tamper == "hash":
        digest = bytearray(base64.b64decode(lines[3]))
        digest[0] ^= 1
        text = text.replace(lines[3], base64.b64encode(bytes(digest)).decode())
    elif tamper == "drop":
        text = text.replace(lines[3] + "\n", "")
    else:
        text = text.replace(f"{ORIGIN}\n21\n", f"{ORIGIN}\n22\n")  # breaks the log signature
    assert not verify_receipt(text, None, [log_signer.verifier.vkey]).ok


@pytest.mark.parametrize(
    "text",
    [
        "",
        "c2sp.org/tlog-proof@v2\nindex 1\n\nnote\n",
        HEADER + "\nindex 01\n\nnote\n",
        HEADER + "\nindex -1\n\nnote\n",
        HEADER + "\nextra !!\nindex 1\n\nnote\n",
        HEADER + "\nindex 1\nAAAA\n\nnote\n",
        HEADER + "\nindex 1\n",
        HEADER + "\n\nnote\n",
    ],
)
def test_malformed_receipts(text):
    with pytest.raises(ReceiptError):
        parse_receipt(text)


def test_no_entry_anywhere_is_a_problem(estate_log, log_signer):
    store, _, note = estate_log
    check = verify_receipt(make_receipt(1, 21, store.read_hashes, note), None, [log_signer.verifier.vkey])
    assert not check.ok and "no entry" in check.problem


def test_witness_names_are_reported(estate_log, log_signer, cosigner):
    store, logged, note = estate_log
    cosigned = cosigner.cosign(note, 1700000000)
    check = verify_receipt(make_receipt(0, 21, store.read_hashes, cosigned, logged[0]), None,
                           [log_signer.verifier.vkey, cosigner.verifier.vkey])
    assert check.ok and check.witnesses == [cosigner.name]

"""The database-backed log on both databases: appends, stored hashes, proofs, checkpoints, export.

Every proof the database serves is checked with the RFC 9162 verifiers, and every export with the
offline verifier, so the database layout and the pure tree code must agree.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from assembly.audit import merkle, service, store
from assembly.audit.checkpoint import open_checkpoint
from assembly.audit.models import AuditEntry, AuditHash
from assembly.audit.receipt import verify_receipt
from assembly.audit.verifiers import new_verifier
from assembly.audit.verify import verify_export
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.register.estates import onboard_estate
from assembly.register.models import Estate

ACTOR = store.Actor("p0123456789abcdef", "committee")


def make_estate(session, code: str) -> Estate:
    return onboard_estate(
        session, code=code, name=f"小区 {code}", district="区", street_office="街道", community="社区",
        residents_committee="居委会",
    )


def note_entries(session, estate, count, start=0):
    return store.append_many(
        session,
        estate_id=estate.id,
        pending=[store.PendingEntry("note.test", ACTOR, {"n": str(start + i)}) for i in range(count)],
    )


def test_appends_get_contiguous_indexes_and_sumdb_hashes(session):
    estate = make_estate(session, "a1")
    assert note_entries(session, estate, 5) == [0, 1, 2, 3, 4]
    assert store.append(session, estate_id=estate.id, type="note.test", actor=ACTOR, n="5") == 5
    assert store.size(session, estate_id=estate.id) == 6
    stored = session.scalar(select(func.count()).select_from(AuditHash).where(AuditHash.estate_id == estate.id))
    assert stored == merkle.stored_hash_count(6)
    memory = merkle.MemoryHashStore()
    for _index, body in store.entry_bodies(session, estate_id=estate.id):
        memory.append(body)
    assert store.tree_hash(session, estate_id=estate.id, tree_size=6) == memory.tree_hash()


def test_every_inclusion_and_consistency_proof_verifies(session):
    estate = make_estate(session, "a2")
    note_entries(session, estate, 37)
    bodies = [body for _i, body in store.entry_bodies(session, estate_id=estate.id)]
    roots = {n: store.tree_hash(session, estate_id=estate.id, tree_size=n) for n in range(1, 38)}
    for n in (1, 2, 3, 8, 13, 32, 37):
        for index in range(n):
            proof = store.inclusion_proof(session, estate_id=estate.id, index=index, tree_size=n)
            merkle.verify_inclusion(index, n, merkle.leaf_hash(bodies[index]), proof, roots[n])
        for old in range(1, n + 1):
            proof = store.consistency_proof(session, estate_id=estate.id, old_size=old, new_size=n)
            merkle.verify_consistency(old, n, proof, roots[old], roots[n])


def test_logs_of_two_estates_are_separate(session):
    one, two = make_estate(session, "b1"), make_estate(session, "b2")
    note_entries(session, one, 3)
    assert note_entries(session, two, 2) == [0, 1]
    assert store.size(session, estate_id=one.id) == 3
    assert store.size(session, estate_id=two.id) == 2


def test_checkpoint_is_signed_by_the_estate_key_and_receipt_verifies_offline(session):
    settings = get_settings()
    estate = make_estate(session, "c1")
    note_entries(session, estate, 10)
    text = service.receipt(session, settings=settings, estate=estate, index=7)
    keys = service.verifier_keys(session, settings, estate)
    assert keys[0].startswith(service.origin(settings, estate) + "+")
    check = verify_receipt(text.text, None, keys)
    assert check.index == 7
    checkpoint, _opened = open_checkpoint(service.latest_checkpoint(session, estate_id=estate.id).note, new_verifier(keys[0]))
    assert checkpoint.size == 10


def test_receipts_batch_onto_one_recent_checkpoint(session):
    settings = get_settings()
    estate = make_estate(session, "c2")
    note_entries(session, estate, 4)
    first = service.receipt(session, settings=settings, estate=estate, index=1)
    second = service.receipt(session, settings=settings, estate=estate, index=3)
    assert first.tree_size == second.tree_size == 4
    assert session.scalar(select(func.count()).select_from(service.AuditCheckpoint)) >= 1


def test_receipt_for_a_missing_entry_is_a_clear_error(session):
    from assembly.errors import NotFound

    estate = make_estate(session, "c3")
    note_entries(session, estate, 2)
    with pytest.raises(NotFound):
        service.receipt(session, settings=get_settings(), estate=estate, index=2)


def _export(engine, estate_code, out):
    with unit_of_work(engine) as session:
        estate = session.scalars(select(Estate).where(Estate.code == estate_code)).one()
        return service.export(session, settings=get_settings(), estate=estate, out=out)


def test_export_verifies_and_tampering_in_the_database_is_caught(engine_copy, tmp_path):
    with unit_of_work(engine_copy) as session:
        estate = make_estate(session, "d1")
        note_entries(session, estate, 20)
        service.sign(session, settings=get_settings(), estate=estate)
    assert _export(engine_copy, "d1", tmp_path / "good") == 20
    assert verify_export(tmp_path / "good").ok

    # An operator edits entry 11 in the database after the checkpoint was signed.
    with unit_of_work(engine_copy) as session:
        estate = session.scalars(select(Estate).where(Estate.code == "d1")).one()
        body = session.scalars(select(AuditEntry.body).where(AuditEntry.estate_id == estate.id, AuditEntry.idx == 11)).one()
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.estate_id == estate.id, AuditEntry.idx == 11)
            .values(body=bytes(body).replace(b'"11"', b'"99"'))
        )
    _export(engine_copy, "d1", tmp_path / "bad")
    report = verify_export(tmp_path / "bad")
    assert not report.ok
    # One changed entry cannot be located from the entries alone; the root no longer matches.
    assert [check.name for check in report.checks if not check.ok] == ["tree.root"]


def test_concurrent_appends_never_share_an_index(engine_copy):
    with unit_of_work(engine_copy) as session:
        estate_id = make_estate(session, "e1").id
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(15):
                with unit_of_work(engine_copy) as session:
                    store.append(session, estate_id=estate_id, type="note.test", actor=ACTOR, n=f"{worker}-{i}")
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with unit_of_work(engine_copy) as session:
        indexes = session.scalars(select(AuditEntry.idx).where(AuditEntry.estate_id == estate_id)).all()
        assert sorted(indexes) == list(range(60))
        memory = merkle.MemoryHashStore()
        for _index, body in store.entry_bodies(session, estate_id=estate_id):
            memory.append(body)
        assert store.tree_hash(session, estate_id=estate_id, tree_size=60) == memory.tree_hash()


def test_minute_schedule_signs_only_logs_that_grew(session):
    from datetime import timedelta

    from assembly.models import utcnow

    settings = get_settings()
    estate = make_estate(session, "f1")
    note_entries(session, estate, 3)
    now = utcnow()
    assert service.sign_due_checkpoints(session, settings=settings, now=now) >= 1
    assert service.latest_checkpoint(session, estate_id=estate.id).size == 3
    assert service.sign_due_checkpoints(session, settings=settings, now=now + timedelta(minutes=5)) == 0
    note_entries(session, estate, 2, start=3)
    assert service.sign_due_checkpoints(session, settings=settings, now=now + timedelta(seconds=30)) == 0
    assert service.sign_due_checkpoints(session, settings=settings, now=now + timedelta(minutes=2)) == 1
    assert service.latest_checkpoint(session, estate_id=estate.id).size == 5


def test_key_rotation_keeps_old_keys_listed(session, monkeypatch):
    from assembly.audit.note import generate_key

    estate = make_estate(session, "g1")
    note_entries(session, estate, 2)
    first = get_settings()
    service.sign(session, settings=first, estate=estate)
    rotated = first.model_copy(update={"log_signing_key": generate_key("rotated")[0]})
    note_entries(session, estate, 1, start=2)
    service.sign(session, settings=rotated, estate=estate)
    keys = service.verifier_keys(session, rotated, estate)
    assert len(keys) == 2
    assert keys[0] == service.log_signer(rotated, service.origin(rotated, estate)).verifier.vkey
    assert keys[1] == service.log_signer(first, service.origin(first, estate)).verifier.vkey


def _tamper_setup(engine, code):
    with unit_of_work(engine) as session:
        estate = make_estate(session, code)
        note_entries(session, estate, 12)
        service.sign(session, settings=get_settings(), estate=estate)
        return estate.id


def test_deleting_an_entry_in_the_database_is_named(engine_copy, tmp_path):
    estate_id = _tamper_setup(engine_copy, "t1")
    with unit_of_work(engine_copy) as session:
        session.execute(AuditEntry.__table__.delete().where(AuditEntry.estate_id == estate_id, AuditEntry.idx == 5))
    _export(engine_copy, "t1", tmp_path / "x")
    report = verify_export(tmp_path / "x")
    assert not report.ok and report.first_bad_entry == 5


def test_swapping_two_entries_in_the_database_is_named(engine_copy, tmp_path):
    estate_id = _tamper_setup(engine_copy, "t2")
    with unit_of_work(engine_copy) as session:
        bodies = dict(
            session.execute(
                select(AuditEntry.idx, AuditEntry.body).where(AuditEntry.estate_id == estate_id, AuditEntry.idx.in_([3, 4]))
            ).all()
        )
        for index, other in ((3, 4), (4, 3)):
            session.execute(
                update(AuditEntry)
                .where(AuditEntry.estate_id == estate_id, AuditEntry.idx == index)
                .values(body=bytes(bodies[other]))
            )
    _export(engine_copy, "t2", tmp_path / "x")
    report = verify_export(tmp_path / "x")
    assert not report.ok and report.first_bad_entry == 3


def _rewrite_log(session, estate, entries: int, start: int) -> None:
    """What an operator with database access could do: throw the log away and write another."""
    session.execute(AuditEntry.__table__.delete().where(AuditEntry.estate_id == estate.id))
    session.execute(AuditHash.__table__.delete().where(AuditHash.estate_id == estate.id))
    session.execute(update(service.AuditLog).where(service.AuditLog.estate_id == estate.id).values(size=0))
    note_entries(session, estate, entries, start=start)


def test_rewritten_tail_resigned_with_another_key_fails_against_the_trusted_key(engine_copy, tmp_path):
    from assembly.audit.note import generate_key

    _tamper_setup(engine_copy, "t3")
    forged = get_settings().model_copy(update={"log_signing_key": generate_key("forger")[0]})
    with unit_of_work(engine_copy) as session:
        estate = session.scalars(select(Estate).where(Estate.code == "t3")).one()
        trusted = service.verifier_keys(session, get_settings(), estate)[0]
        _rewrite_log(session, estate, 12, start=100)
        service.sign(session, settings=forged, estate=estate)
        service.export(session, settings=forged, estate=estate, out=tmp_path / "x")
    # Self-consistent under the forger's key, which the export now lists first …
    assert verify_export(tmp_path / "x").ok
    # … but refused under the key the observer took from the notice board.
    report = verify_export(tmp_path / "x", trusted_keys=[trusted])
    assert not report.ok
    assert [check.name for check in report.checks if not check.ok][0] == "keys"


def test_witness_refuses_a_forked_checkpoint_from_the_database(engine_copy, tmp_path):
    from assembly.audit.cosign import ForkDetected, Witness, generate_witness_key, new_cosigner
    from assembly.audit.verifiers import new_verifier

    _tamper_setup(engine_copy, "t4")
    _export(engine_copy, "t4", tmp_path / "first")
    log_key = new_verifier((tmp_path / "first" / "keys").read_text().splitlines()[0])
    witness = Witness(new_cosigner(generate_witness_key("observer.example")[0]), tmp_path / "w.json", [log_key])
    witness.cosign((tmp_path / "first" / "checkpoint").read_text())
    # The operator rewrites history and re-signs with the real key: a fork of the same log.
    with unit_of_work(engine_copy) as session:
        estate = session.scalars(select(Estate).where(Estate.code == "t4")).one()
        _rewrite_log(session, estate, 14, start=50)
        forked = service.sign(session, settings=get_settings(), estate=estate)
    with pytest.raises(ForkDetected):
        witness.cosign(forked.note, [])
    assert list((tmp_path / "forks").iterdir())


def test_entry_times_never_go_backwards(session):
    """A caller whose clock lags the last entry (concurrent requests, a test clock) is logged at
    the last entry's time, so the verifier's "times non-decreasing" check holds."""
    import json
    from datetime import timedelta

    from assembly.audit.entries import parse_time
    from assembly.models import utcnow

    estate = make_estate(session, "h1")
    later = utcnow() + timedelta(days=16)
    store.append(session, estate_id=estate.id, type="note.test", actor=ACTOR, at=later, n="0")
    store.append(session, estate_id=estate.id, type="note.test", actor=ACTOR, at=later - timedelta(seconds=5), n="1")
    store.append(session, estate_id=estate.id, type="note.test", actor=ACTOR, n="2")
    times = [parse_time(json.loads(body)["at"]) for _index, body in store.entry_bodies(session, estate_id=estate.id)]
    assert times == [later, later, later]

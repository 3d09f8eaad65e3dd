"""The estate's sequencer as appends read it: its size and the last entry's time in one locked read
(assembly/audit/store.py `_lock`), across transactions, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from assembly.audit import store
from assembly.audit.entries import parse_time
from assembly.audit.models import AuditLog
from assembly.db import unit_of_work
from assembly.models import utcnow
from assembly.register.estates import onboard_estate

ACTOR = store.Actor("p0123456789abcdef", "committee")


def _estate(session, code: str):
    return onboard_estate(session, code=code, name=f"{code} 小区", district=f"{code} 区", street_office=f"{code} 街道",
                          community=f"{code} 社区", residents_committee=f"{code} 居委会")


def test_a_lagging_clock_in_a_later_transaction_is_raised_to_the_last_entry(engine_copy):
    with unit_of_work(engine_copy) as session:
        estate_id = _estate(session, "seq1").id
    later = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    with unit_of_work(engine_copy) as session:
        first = store.append(session, estate_id=estate_id, type="note.test", actor=ACTOR, at=later, n="0")
    with unit_of_work(engine_copy) as session:
        second = store.append(session, estate_id=estate_id, type="note.test", actor=ACTOR,
                              at=later - timedelta(minutes=5), n="1")
        third = store.append(session, estate_id=estate_id, type="note.test", actor=ACTOR,
                             at=later + timedelta(seconds=1), n="2")
    assert second == first + 1 and third == second + 1
    with unit_of_work(engine_copy) as session:
        bodies = [json.loads(body) for _, body in store.entry_bodies(session, estate_id=estate_id)]
        assert session.scalar(select(AuditLog.size).where(AuditLog.estate_id == estate_id)) == third + 1
    mine = [body for body in bodies if body.get("type") == "note.test"]
    assert [parse_time(body["at"]) for body in mine] == [later, later, later + timedelta(seconds=1)]


def test_a_sequencer_already_loaded_in_the_session_sees_the_new_size(engine_copy):
    with unit_of_work(engine_copy) as session:
        estate_id = _estate(session, "seq2").id
    with unit_of_work(engine_copy) as session:
        store.append(session, estate_id=estate_id, type="note.test", actor=ACTOR, n="0")
        loaded = session.scalars(select(AuditLog).where(AuditLog.estate_id == estate_id)).one()
        before = loaded.size
        indexes = store.append_many(session, estate_id=estate_id, pending=[
            store.PendingEntry("note.test", ACTOR, {"n": str(i)}) for i in range(1, 4)])
        assert indexes == [before, before + 1, before + 2]
        assert loaded.size == before + 3
        assert store.size(session, estate_id=estate_id) == before + 3

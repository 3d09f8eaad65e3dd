"""One whole meeting through the services on a fixed clock with seeded randomness, and the digest of
everything it wrote: the audit log's entries, the tally files, the results, the residents'
committee's records and the owners' notices. Two checkouts that print the same digests behave the
same (a refactoring that must not change behaviour, e.g. the events-and-layers issue).

    .venv/bin/python scripts/log_digest.py            # prints one line per part and a total
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import secrets
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a working week in a year the holiday calendar covers
MEMBERS, VOTERS = 40, 31


def _seed_randomness() -> None:
    """secrets' token functions from one seeded generator: salts, keys and tokens repeat run to run."""
    generator = random.Random(20261205)
    secrets.token_bytes = lambda n=32: generator.randbytes(n)
    secrets.token_hex = lambda n=32: generator.randbytes(n).hex()
    secrets.token_urlsafe = lambda n=32: generator.randbytes(n).hex()


def _freeze_the_log_clock() -> None:
    """The log stamps each entry when it is appended (its `at`): one fixed moment here."""
    from assembly.audit import store

    store.utcnow = lambda: T0


def run(database: Path) -> dict[str, str]:
    from sqlalchemy import select

    from assembly.audit.models import AuditEntry
    from assembly.db import make_engine, unit_of_work
    from assembly.migrations import upgrade
    from assembly.notify.models import NotificationRecord
    from assembly.notify.owner_models import OwnerNotice
    from assembly.permissions import Principal, Role
    from assembly.register.models import Person
    from assembly.voting import casting, closing, meetings, objections
    from assembly.voting.models import Meeting, Motion
    from bench.meeting_world import open_meeting, register_rows

    try:  # the composition root, where the checkout has one
        importlib.import_module("assembly.wiring").install()
    except ModuleNotFoundError:
        pass
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    opened = meetings.earliest_open(T0)
    closes = opened + timedelta(days=3)
    with unit_of_work(engine) as session:
        world = open_meeting(session, rows=register_rows(MEMBERS), published=T0, opened=opened, closes_at=closes)
        meeting_id, motion_id, estate_id = world.meeting.id, world.motion.id, world.estate.id
        keys = sorted(world.roll)
    owners = {}
    for number, key in enumerate(keys[:VOTERS]):
        pseudonym = key.split(":")[1]
        with unit_of_work(engine) as session:
            person = session.scalars(select(Person).where(Person.pseudonym == pseudonym)).one()
            owners[key] = Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({estate_id}),
                                    person_id=person.id, pseudonym=pseudonym, card_id=number + 1)
            meeting, motion = session.get(Meeting, meeting_id), session.get(Motion, motion_id)
            casting.cast(session, meeting=meeting, motion=motion, principal=owners[key], member_key=key,
                         choice=("agree", "agree", "oppose", "abstain")[number % 4], idempotency_key=f"k-{number}",
                         now=opened + timedelta(minutes=number))
    with unit_of_work(engine) as session:
        closing.close_if_due(session, meeting=session.get(Meeting, meeting_id), now=closes + timedelta(minutes=1))
    objector = keys[0]
    with unit_of_work(engine) as session:
        meeting, motion = session.get(Meeting, meeting_id), session.get(Motion, motion_id)
        filed = objections.file_objection(session, meeting=meeting, motion=motion, principal=owners[objector],
                                          member_key=objector, text="不是我投的", now=closes + timedelta(hours=2))
        chair = Principal(kind="account", role=Role.COMMITTEE_CHAIR, estate_ids=frozenset({estate_id}), account_id=1,
                          pseudonym="bench-chair")
        objections.decide(session, meeting=meeting, motion=motion, objection_id=filed.id, upheld=True, principal=chair,
                          now=closes + timedelta(hours=3))
    with unit_of_work(engine) as session:
        objections.finalize_if_due(session, meeting=session.get(Meeting, meeting_id), now=closes + timedelta(days=30))
    with unit_of_work(engine) as session:
        entries = [(e.estate_id, e.idx, e.body.hex())
                   for e in session.scalars(select(AuditEntry).order_by(AuditEntry.estate_id, AuditEntry.idx))]
        motion = session.get(Motion, motion_id)
        records = [(r.event, r.what, r.actor, r.evidence, r.created_at.isoformat())
                   for r in session.scalars(select(NotificationRecord).order_by(NotificationRecord.id))]
        notices = [(n.person_id, n.event, n.text, n.delivery, n.created_at.isoformat())
                   for n in session.scalars(select(OwnerNotice).order_by(OwnerNotice.id))]
        parts = {"log": entries, "tally": motion.tally_file.hex(), "result": motion.result_json, "records": records,
                 "notices": notices}
    engine.dispose()
    return {name: hashlib.sha256(json.dumps(value, ensure_ascii=False, default=str).encode()).hexdigest()
            for name, value in parts.items()}


def _fixed_secrets(folder: str) -> None:
    """The keys pseudonyms and tokens are made with, fixed (not var/secrets.json, which differs per
    checkout and is written on a first run, drawing from the seeded generator)."""
    os.environ["ASSEMBLY_SECRET_KEY"] = "digest-secret-key-" + "k" * 30
    os.environ["ASSEMBLY_ID_HASH_KEY"] = "digest-id-hash-key-" + "h" * 30
    os.environ["ASSEMBLY_VAR_DIR"] = folder


def main() -> int:
    _seed_randomness()
    _freeze_the_log_clock()
    with tempfile.TemporaryDirectory() as folder:
        _fixed_secrets(folder)
        digests = run(Path(folder) / "digest.sqlite3")
    for name, digest in digests.items():
        print(f"{name:8} {digest}")
    print(f"{'total':8} {hashlib.sha256(''.join(digests.values()).encode()).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

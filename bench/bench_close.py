"""Time close + count + announce of one motion: 100,000 voting members, 90,000 ballots.

Run: .venv/bin/python bench/bench_close.py [--members N] [--ballots N] [--db sqlite|postgresql]
Setup (not timed): a migrated database, an estate whose register has N single-owner units, a
meeting published and opened 16 days later (the roll frozen), and B ballots, each with its
`ballot.cast` audit entry (bulk-inserted, commitments computed as casting does). Timed: one
transaction that runs `assembly.voting.closing.close_if_due` — opening every commitment
(`ballots.opened`), writing the tally file, `tally()` on it, `motion.closed`, `result.announced`,
the residents'-committee records — and commits. Target: under 2 s.

The meeting has no paper phase (`paper_grace_days=0`), so the close counts at once; with one, the
same count runs when the committee declares paper entry finished or the grace period ends
(assembly.voting.closing.count_and_announce either way).

Measured on the 2-core machine, SQLite, 100,000 members / 90,000 ballots: see bench/README.md
(before this file's last change 4.2 s on a quiet machine; where the time went, by cProfile: the
cyclic garbage collector walking the growing heap of ballot and unit dicts again and again — about
40 % of the CPU —, tally() about 30 %, the roll's units and the audit append the rest). --profile
prints the costliest functions.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ASSEMBLY_ENV", "test")
os.environ.setdefault("ASSEMBLY_SECRET_KEY", "bench-only-secret-key-" + "k" * 40)
os.environ.setdefault("ASSEMBLY_ID_HASH_KEY", "bench-only-id-hash-key-" + "h" * 40)
os.environ.setdefault("ASSEMBLY_VAR_DIR", tempfile.mkdtemp(prefix="assembly-bench-"))

TARGET_SECONDS = 2.0
PG_ADMIN_URL = os.environ.get("ASSEMBLY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    import psycopg

    name = f"assembly_bench_close_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def setup(engine, members: int, ballots: int):
    from sqlalchemy import insert

    from assembly.audit import store
    from assembly.audit.entries import ballot_commitment, format_time
    from assembly.db import unit_of_work
    from assembly.models import utcnow
    from assembly.voting import meetings
    from assembly.voting.models import Ballot
    from bench.meeting_world import open_meeting, register_rows

    t0 = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    rows = register_rows(members)
    opened = meetings.earliest_open(t0)  # the notice period has run
    with unit_of_work(engine) as session:
        world = open_meeting(session, rows=rows, published=t0, opened=opened, closes_at=t0 + timedelta(days=30))
        estate, meeting, motion, roll = world.estate, world.meeting, world.motion, world.roll
        keys = list(roll)[:ballots]
        when = format_time(opened + timedelta(hours=1))
        for start in range(0, len(keys), 5000):
            batch, pending, made = keys[start:start + 5000], [], []
            for number, key in enumerate(batch, start=start):
                salt = secrets.token_bytes(32)
                choice = ("agree", "agree", "oppose", "abstain")[number % 4]
                unit = roll[key][2][0]
                commitment = ballot_commitment(salt, {"unit": unit, "choice": choice, "by": "owner"})
                pending.append(store.PendingEntry("ballot.cast", store.Actor(key.split(":")[1], "owner"),
                                                  {"motion": motion.public_id, "member": key, "by": "owner",
                                                   "commitment": commitment, "time": when},
                                                  opened + timedelta(hours=1)))
                made.append({"motion_id": motion.id, "estate_id": estate.id, "member_key": key, "unit": unit,
                             "by": "owner", "choice": choice, "salt": salt, "commitment": commitment,
                             "cast_at": opened + timedelta(hours=1), "idempotency_key": f"bench-{number}"})
            indexes = store.append_many(session, estate_id=estate.id, pending=pending)
            for row, index in zip(made, indexes, strict=True):
                row["entry_index"] = index
            session.execute(insert(Ballot), made)
        return meeting.id, meeting.closes_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ballots", type=int, default=90_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions of the close")
    args = parser.parse_args()

    from sqlalchemy import select

    from assembly.db import make_engine, unit_of_work
    from assembly.migrations import upgrade
    from assembly.voting import closing
    from assembly.voting.models import Meeting, Motion

    with tempfile.TemporaryDirectory() as workdir:
        engine = make_engine(database(args.db, Path(workdir)))
        upgrade(engine)
        started = time.perf_counter()
        meeting_id, closes_at = setup(engine, args.members, args.ballots)
        print(f"setup: {args.members:,} members, {args.ballots:,} ballots in {time.perf_counter() - started:.1f} s "
              f"({args.db})")
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu = time.perf_counter(), time.process_time()
        with unit_of_work(engine) as session:
            assert closing.close_if_due(session, meeting=session.get(Meeting, meeting_id), now=closes_at)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        with unit_of_work(engine) as session:
            motion = session.scalars(select(Motion).where(Motion.meeting_id == meeting_id)).one()
            result = closing.result_of(motion)
        load = os.getloadavg()[0]
        print(f"close + count + announce: {elapsed:.2f} s wall, {cpu:.2f} s CPU, load average {load:.2f} "
              f"(target < {TARGET_SECONDS:.0f} s) — "
              f"participating {result['participating']['heads']:,} heads, passed={result['passed']}, "
              f"tally file {len(motion.tally_file) / 1e6:.1f} MB")
        engine.dispose()
    return 0 if elapsed < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

"""Time "which units have voted" — the service, the estate map page and the list page over HTTP —
for a demo-sized estate (2,000 units) and a large one (100,000 units), 60 % of members voted.

Run: .venv/bin/python bench/bench_voted_map.py [--units N ...] [--db sqlite|postgresql]
Setup (not timed): a migrated database, an estate of single-owner units coded
"building-entrance-floorroom" (10 entrances × 25 floors × 4 rooms per building), a meeting opened
on the frozen roll, and ballot rows for 60 % of the members (inserted directly: this reads only
ballots and the roll, not the log). Timed: participation() alone, then GET of the map and list
pages as a logged-in committee chair (TestClient in the same process: no network), best of 3.
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

from bench.bench_close import database  # noqa: E402

PASSWORD = "bench-password-" + "p" * 20


def unit_code(serial: int) -> str:
    building, rest = divmod(serial, 1000)
    entrance, rest = divmod(rest, 100)
    floor, room = divmod(rest, 4)
    return f"{building + 1}-{entrance + 1}-{floor + 1}{room + 1:02d}"


def setup(engine, units: int):
    from sqlalchemy import insert

    from assembly.auth import accounts
    from assembly.db import unit_of_work
    from assembly.models import utcnow
    from assembly.permissions import Role
    from assembly.voting import meetings
    from assembly.voting.models import Ballot
    from bench.meeting_world import open_meeting, register_rows

    t0 = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    rows = register_rows(units, unit_code)
    opened = meetings.earliest_open(t0)  # the notice period has run
    with unit_of_work(engine) as session:
        world = open_meeting(session, rows=rows, published=t0, opened=opened, closes_at=t0 + timedelta(days=30))
        estate, meeting, motion, roll = world.estate, world.meeting, world.motion, world.roll
        accounts.create_account(session, created_by=None, username="bench-chair", display_name="主任",
                                role=Role.COMMITTEE_CHAIR, now=t0, estate_ids={estate.id}, password=PASSWORD)
        made = [{"motion_id": motion.id, "estate_id": estate.id, "member_key": key, "unit": units_[0], "by": "owner",
                 "choice": "agree", "salt": secrets.token_bytes(32), "commitment": "0" * 64,
                 "cast_at": opened + timedelta(hours=1), "idempotency_key": f"bench-{number}", "entry_index": number}
                for number, (key, (_area, _heads, units_)) in enumerate(roll.items()) if number % 5 < 3]
        for start in range(0, len(made), 5000):
            session.execute(insert(Ballot), made[start:start + 5000])
        return meeting.id, motion.id, opened + timedelta(hours=2)


def best_of(times: int, action) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(times):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def run(backend: str, units: int) -> None:
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from assembly.app import create_app
    from assembly.config import get_settings
    from assembly.db import make_engine
    from assembly.migrations import upgrade
    from assembly.voting import participation
    from assembly.voting.models import Meeting, Motion

    with tempfile.TemporaryDirectory() as workdir:
        engine = make_engine(database(backend, Path(workdir)))
        upgrade(engine)
        started = time.perf_counter()
        meeting_id, motion_id, now = setup(engine, units)
        print(f"{backend} {units:,} units: setup {time.perf_counter() - started:.1f} s")
        with Session(engine) as session:
            meeting, motion = session.get(Meeting, meeting_id), session.get(Motion, motion_id)
            seconds, found = best_of(3, lambda: participation.participation(session, meeting=meeting, motion=motion))
            print(f"  participation(): {seconds * 1000:.0f} ms ({found.voted_count:,} of {len(found.units):,} voted)")
            seconds, _map = best_of(3, lambda: participation.estate_map(found.units))
            print(f"  estate_map(): {seconds * 1000:.0f} ms")
        get_settings.cache_clear()
        app = create_app(settings=get_settings(), engine=engine)
        app.state.clock = lambda: now
        client = TestClient(app)
        csrf = client.get("/api/auth/csrf").json()["csrf_token"]
        login = client.post("/api/auth/login", json={"username": "bench-chair", "password": PASSWORD},
                            headers={"X-CSRF-Token": csrf})
        assert login.status_code == 200, login.text
        base = f"/estate/bench/meetings/{meeting_id}/motions/{motion_id}"
        for name in ("map", "voted", "voted.csv"):
            seconds, response = best_of(3, lambda name=name: client.get(f"{base}/{name}"))
            assert response.status_code == 200, response.text[:200]
            print(f"  GET {name}: {seconds * 1000:.0f} ms, {len(response.content) / 1000:.0f} kB "
                  f"(gzip on the wire: {response.headers.get('content-encoding', 'none')})")
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[2_000, 100_000])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    for units in args.units:
        run(args.db, units)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

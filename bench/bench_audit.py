"""Audit-log benchmarks (issue 4): append rates, inclusion proofs at 1,000,000 entries, verify.

Run: .venv/bin/python bench/bench_audit.py [--entries 1000000] [--backends sqlite,postgresql]
Targets: batched appends ≥ 5,000 entries/s on SQLite; inclusion proof from the database at
1,000,000 entries p95 < 5 ms; `assembly audit verify` of a 1,000,000-entry export < 60 s with
bounded memory. The single-entry rate (one entry per transaction, as a lone state change does)
is reported on both databases. Everything goes through assembly.audit.store with real
transactions on a freshly migrated database.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ASSEMBLY_ID_HASH_KEY", "bench-only-" + "i" * 40)
os.environ.setdefault("ASSEMBLY_SECRET_KEY", "bench-only-" + "s" * 40)
os.environ.setdefault("ASSEMBLY_VAR_DIR", tempfile.mkdtemp(prefix="assembly-bench-var-"))

PG_ADMIN_URL = os.environ.get("ASSEMBLY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BATCH = 1000


def fresh_database(backend: str, workdir: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'audit-bench.sqlite3'}", lambda: None
    import psycopg

    name = f"assembly_bench_{uuid.uuid4().hex[:8]}"
    admin_url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def make_estate(engine) -> int:
    from assembly.db import unit_of_work
    from assembly.register.estates import onboard_estate

    with unit_of_work(engine) as session:
        return onboard_estate(
            session, code="bench", name="基准小区", district="基准区", street_office="街道", community="社区",
            residents_committee="居委会",
        ).id


def entry(i: int):
    from assembly.audit.store import Actor, PendingEntry

    return PendingEntry("note.bench", Actor(f"p{i % 5000:016x}", "owner"), {"n": str(i)})


def bench_backend(backend: str, entries: int, singles: int, proofs: int, workdir: Path) -> dict:
    from assembly.audit import store
    from assembly.db import make_engine, unit_of_work
    from assembly.migrations import upgrade

    url, drop = fresh_database(backend, workdir)
    engine = make_engine(url)
    try:
        upgrade(engine)
        estate_id = make_estate(engine)
        started = time.perf_counter()
        for i in range(singles):
            with unit_of_work(engine) as session:
                store.append_many(session, estate_id=estate_id, pending=[entry(i)])
        single_rate = singles / (time.perf_counter() - started)

        started = time.perf_counter()
        done = singles
        while done < entries:
            count = min(BATCH, entries - done)
            with unit_of_work(engine) as session:
                store.append_many(session, estate_id=estate_id, pending=[entry(done + k) for k in range(count)])
            done += count
        batched_rate = (entries - singles) / (time.perf_counter() - started)

        rng = random.Random(7)
        timings = []
        with unit_of_work(engine) as session:
            size = store.size(session, estate_id=estate_id)
            for _ in range(proofs):
                index = rng.randrange(size)
                begin = time.perf_counter()
                store.inclusion_proof(session, estate_id=estate_id, index=index, tree_size=size)
                timings.append((time.perf_counter() - begin) * 1000)
        timings.sort()
        result = {
            "backend": backend,
            "entries": size,
            "single_per_s": single_rate,
            "batched_per_s": batched_rate,
            "proof_p50_ms": statistics.median(timings),
            "proof_p95_ms": timings[int(len(timings) * 0.95) - 1],
        }
        if backend == "sqlite":
            result.update(bench_verify(url, workdir))
        return result
    finally:
        engine.dispose()
        drop()


def bench_verify(url: str, workdir: Path) -> dict:
    env = {**os.environ, "ASSEMBLY_DATABASE_URL": url}
    out = workdir / "export"
    assembly = str(Path(sys.executable).with_name("assembly"))
    started = time.perf_counter()
    subprocess.run([assembly, "audit", "export", "--estate", "bench", "--out", str(out)], env=env, check=True,
                   capture_output=True)
    export_s = time.perf_counter() - started
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    started = time.perf_counter()
    done = subprocess.run([*timer, assembly, "audit", "verify", str(out), "--json"], env=env, capture_output=True,
                          text=True)
    verify_s = time.perf_counter() - started
    peak = int(done.stderr.strip().splitlines()[-1]) / 1024 if timer else float("nan")
    if done.returncode != 0:
        raise SystemExit(f"verify failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return {"export_s": export_s, "verify_s": verify_s, "verify_peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--singles", type=int, default=2000, help="entries appended one per transaction")
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"audit log: {args.entries:,} entries, batches of {BATCH}, {args.singles:,} single appends, "
          f"{args.proofs:,} proofs; {os.cpu_count()} cores")
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="assembly-bench-") as workdir:
            result = bench_backend(backend, args.entries, args.singles, args.proofs, Path(workdir))
        print(f"  {backend:10s} single {result['single_per_s']:8.0f} entries/s | batched "
              f"{result['batched_per_s']:8.0f} entries/s (target ≥ 5,000 on SQLite) | proof at "
              f"{result['entries']:,}: p50 {result['proof_p50_ms']:.2f} ms, p95 {result['proof_p95_ms']:.2f} ms "
              f"(target < 5 ms)")
        if "verify_s" in result:
            print(f"  {backend:10s} export {result['export_s']:.1f} s | verify {result['verify_s']:.1f} s "
                  f"(target < 60 s), peak RSS {result['verify_peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()

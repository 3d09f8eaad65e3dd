"""Ballots over HTTP: logged-in owners cast against the real server (uvicorn), each ballot with its entry.

Run: .venv/bin/python bench/bench_http_ballots.py [--units 10000] [--db sqlite,postgresql]
     [--clients 50,200] [--seconds 10] [--profile] [--workers N] [--server-path DIR]

Setup (not timed, bench/http_world.py): a fresh database (an SQLite file, or a PostgreSQL database
made here and dropped after), an estate of N single-owner units, a meeting open now with one motion,
and one real logged-in session per owner (assembly.auth.sessions.start), so each client sends a
real cookie and CSRF token; before each cell every session is marked seen just now (as after
opening the meeting's page), so no ballot also writes its session's last_seen_at. The server is
`assembly serve` (one uvicorn process, as production runs it) in a subprocess; the load generator
(bench/http_load.py) is another process on the same two cores. Per database and concurrency, two cells in the same server run: GET /healthz (the trivial
endpoint: it goes through the same middleware, session lookup and a `select 1`) and then POST
…/motions/{id}/ballots (the API's cast_ballot) with a unique idempotency key per request. After the
run the database must hold exactly as many ballots, and ballot.cast entries, as the answers 201 the
generator saw (warm-up and tail included): errors are counted as errors, never as throughput.

Target (issue 5): ≥ 1,000 ballots/s with p99 < 100 ms on SQLite. Closed-loop clients obey Little's
law (clients = throughput × latency): at 200 clients a p99 under 100 ms needs more than 2,000/s.
Results and where the time goes: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's assembly and py-spy
sys.path.insert(0, str(ROOT))
BENCH_ENV = {
    "ASSEMBLY_ENV": "development",
    "ASSEMBLY_SECRET_KEY": "bench-only-secret-key-" + "k" * 40,
    "ASSEMBLY_ID_HASH_KEY": "bench-only-id-hash-key-" + "h" * 40,
}
os.environ.update(BENCH_ENV)
os.environ.setdefault("ASSEMBLY_VAR_DIR", tempfile.mkdtemp(prefix="assembly-bench-http-"))
PG_ADMIN_URL = os.environ.get("ASSEMBLY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_RATE, TARGET_P99_MS = 1000, 100


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def make_database(backend: str, workdir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench-http.sqlite3'}", None
    name = f"assembly_bench_http_{secrets.token_hex(4)}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name


def drop_database(name: str | None) -> None:
    if name:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return sorted(set(found))


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


class Server:
    """`assembly serve` (or, with workers > 1, uvicorn's own process manager) in a subprocess."""

    def __init__(self, url: str, workdir: Path, *, workers: int, server_path: str | None) -> None:
        self.port = _free_port()
        self.url = url
        env = {**os.environ, **BENCH_ENV, "ASSEMBLY_DATABASE_URL": url, "ASSEMBLY_VAR_DIR": str(workdir / "var"),
               "ASSEMBLY_SITE_URL": f"http://127.0.0.1:{self.port}"}
        # This checkout's code, whatever the venv's editable install points at.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [server_path, str(ROOT), env.get("PYTHONPATH")]))
        if workers == 1:
            command = [str(BIN / "assembly"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            command = [sys.executable, "-m", "uvicorn", "assembly.app:create_app", "--factory",
                       "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers), "--proxy-headers"]
        self.log = open(workdir / "server.log", "wb")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {workdir / 'server.log'}")
            time.sleep(0.2)
        time.sleep(0.5 if workers == 1 else 2.0)

    def pids(self) -> list[int]:
        return _descendants(self.process.pid)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def run_cell(server: Server, world, *, mode: str, clients: int, seconds: float, warmup: float, workdir: Path,
             backend: str, tag: str, profile_to: Path | None = None) -> dict:
    import http_world
    from http_world import ESTATE_CODE

    watch = {"server": server.pids()}
    if backend == "postgresql":
        watch["database"] = _postgres_pids()
    plan = {"host": "127.0.0.1", "port": server.port, "mode": mode, "clients": clients, "seconds": seconds,
            "warmup": warmup, "run": tag, "watch": watch, "owners": world.clients,
            "cookie": "assembly_session", "nonce_cookie": "assembly_csrf", "trivial_path": "/healthz",
            "path": f"/api/estates/{ESTATE_CODE}/meetings/{world.meeting_id}/motions/{world.motion_id}/ballots"}
    http_world.seen_just_now(server.url)
    plan_file, out_file = workdir / f"plan-{tag}.json", workdir / f"out-{tag}.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    load_before = os.getloadavg()[0]
    spy = None
    if profile_to is not None:
        spy = subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(server.process.pid),
                                "--duration", str(int(warmup + seconds)), "--rate", "200", "--format", "raw",
                                "--subprocesses", "--gil", "--nonblocking", "--output", str(profile_to)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, str(ROOT / "bench/http_load.py"), str(plan_file), str(out_file)], check=True)
    if spy is not None:
        spy.wait(timeout=60)
    out = json.loads(out_file.read_text(encoding="utf-8"))
    latencies = sorted(out.pop("latencies"))

    def pct(q: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    server_ms = 10 * out["cpu_percent"]["server"] * out["window"] / max(1, out["ok"] + out["errors"])
    return {"mode": mode, "clients": clients, "requests": out["ok"] + out["errors"], "ok": out["ok"],
            "server_ms": server_ms,
            "errors": out["errors"], "all_ok": out["all_ok"], "rate": out["ok"] / out["window"],
            "p50": pct(0.50), "p99": pct(0.99), "cpu": out["cpu_percent"], "statuses": out["statuses"],
            "samples": out["samples"], "load": (load_before + os.getloadavg()[0]) / 2}


def bench_database(backend: str, args, workdir: Path) -> tuple[list[dict], dict]:
    import http_world

    from assembly.db import make_engine
    from assembly.migrations import upgrade

    url, pg_name = make_database(backend, workdir)
    server = None
    try:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        world = http_world.build(engine, units=args.units, secret_key=BENCH_ENV["ASSEMBLY_SECRET_KEY"])
        engine.dispose()
        print(f"[{backend}] setup: {args.units:,} units, roll of {world.roll_size:,} members, "
              f"{len(world.clients):,} owner sessions in {time.perf_counter() - started:.1f} s", flush=True)
        server = Server(url, workdir, workers=args.workers, server_path=args.server_path)
        rows = []
        for clients in args.clients:
            trivial = run_cell(server, world, mode="trivial", clients=clients, seconds=args.seconds,
                               warmup=args.warmup, workdir=workdir, backend=backend, tag=f"{backend}-t{clients}")
            profile = Path(tempfile.gettempdir()) / f"bench-http-profile-{backend}-{clients}.raw" if args.profile else None
            ballots = run_cell(server, world, mode="ballots", clients=clients, seconds=args.seconds,
                               warmup=args.warmup, workdir=workdir, backend=backend, tag=f"{backend}-b{clients}",
                               profile_to=profile)
            ballots["trivial"] = trivial
            rows.append(ballots)
            print_row(backend, ballots)
            if profile is not None and profile.exists():
                from http_profile import summarize

                print(summarize(profile.read_text(encoding="utf-8")) + f"\n  (raw profile: {profile})", flush=True)
        server.stop()
        server = None
        engine = make_engine(url)
        found = http_world.counts(engine, meeting_id=world.meeting_id)
        engine.dispose()
        return rows, found
    finally:
        if server is not None:
            server.stop()
        drop_database(pg_name)


HEADER = ("| db | clients | requests | ok | errors | ballots/s | p50 ms | p99 ms | trivial/s | trivial p99 ms | "
          "ratio | server CPU % | server CPU ms/ballot | trivial CPU ms | db CPU % | load gen CPU % | load avg |")


def print_row(backend: str, row: dict) -> None:
    trivial = row["trivial"]
    ratio = row["rate"] / trivial["rate"] if trivial["rate"] else float("nan")
    db_cpu = row["cpu"].get("database")
    print(f"| {backend} | {row['clients']} | {row['requests']:,} | {row['ok']:,} | {row['errors']:,} | "
          f"{row['rate']:,.0f} | {row['p50']:.1f} | {row['p99']:.1f} | {trivial['rate']:,.0f} | "
          f"{trivial['p99']:.1f} | {ratio:.2f} | {row['cpu']['server']:.0f} | {row['server_ms']:.2f} | "
          f"{trivial['server_ms']:.2f} | "
          f"{'—' if db_cpu is None else f'{db_cpu:.0f}'} | {row['cpu']['self']:.0f} | {row['load']:.2f} |", flush=True)
    for cell in (row, trivial):
        if cell["errors"]:
            print(f"    {cell['mode']} errors: {cell['statuses']} e.g. {cell['samples'][:2]}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--clients", default="50,200")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=1, help="1: `assembly serve`; more: uvicorn --workers")
    parser.add_argument("--server-path", help="put first on the server's PYTHONPATH (what-if: uvloop/httptools)")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during each ballot cell")
    args = parser.parse_args()
    args.clients = [int(n) for n in args.clients.split(",")]
    backends = [name for name in args.db.split(",") if name]
    print(f"{os.cpu_count()} cores; {args.seconds:g} s per cell after {args.warmup:g} s warm-up; "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    print(HEADER + "\n" + "|---" * (HEADER.count("|") - 1) + "|", flush=True)
    failed = False
    results = {}
    with tempfile.TemporaryDirectory(prefix="assembly-bench-http-") as tmp:
        for backend in backends:
            rows, found = bench_database(backend, args, Path(tmp))
            results[backend] = rows
            seen = sum(row["all_ok"] for row in rows)
            honest = found["ballots"] == found["entries"] == found["linked"] == seen
            failed |= not honest or any(row["errors"] or row["trivial"]["errors"] for row in rows)
            print(f"[{backend}] check: {seen:,} answers 201 seen; database holds {found['ballots']:,} ballots, "
                  f"{found['entries']:,} ballot.cast entries, {found['linked']:,} ballots linked to their entry — "
                  f"{'consistent' if honest else 'MISMATCH'}", flush=True)
    for row in results.get("sqlite", []):
        met = row["rate"] >= TARGET_RATE and row["p99"] < TARGET_P99_MS
        print(f"target (SQLite, {row['clients']} clients): ≥ {TARGET_RATE:,}/s with p99 < {TARGET_P99_MS} ms — "
              f"{'met' if met else 'not met'} ({row['rate']:,.0f}/s, p99 {row['p99']:.0f} ms)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Time `assembly register import` on a 100,000-unit register, on SQLite and on PostgreSQL.

Run: .venv/bin/python bench/bench_register_import.py [--units N] [--backends sqlite,postgresql]
The CSV (GB18030, as Chinese Excel writes it) is generated from a fixed seed: ~3% developer units,
~10% co-owned, ~6% held by an owner set that already holds another unit, all three area sources.
Each import runs in a child process through the command's own two steps (register.cli.read_file:
parse and validate; register.cli.apply_file: apply_register in one transaction) into a freshly
migrated database (PostgreSQL: a database `assembly_bench_*` created and dropped here). Printed:
wall seconds for parse and apply, their total, the child's CPU seconds and peak RSS, best of
--runs runs (each on a fresh database; the median total too, since the machine may be shared).
Target: total < 10 s for the first import. A re-import of the same file (a no-op) and a
1%-changed file are timed too. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 10.0
SEED = 20091014  # 法释〔2009〕7号
ESTATE = "bench"
ID_KEY = "bench-only-id-hash-key-" + "b" * 40
PG_ADMIN_URL = os.environ.get("ASSEMBLY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HEADER = ["房屋编号", "不动产登记面积", "实测面积", "合同面积", "开发建设单位", "业主姓名", "证件号码", "联系电话"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕鹏辉建国志海波宁欣怡晨浩宇轩梓涵子睿"
REGIONS = ("110101", "110102", "110105", "110106", "110108", "130102", "370102", "410105", "510104", "440106")


# --- The register file -----------------------------------------------------------------------


def unit_codes(count: int) -> list[str]:
    codes = []
    building = 0
    while len(codes) < count:
        building += 1
        for entrance in range(1, 5):
            for floor in range(1, 34):
                for room in range(1, 5):
                    codes.append(f"{building}-{entrance}-{floor}{room:02d}")
    return codes[:count]


def generate_register(units: int, rng: random.Random) -> list[list[str]]:
    from assembly.identity import mainland_check_character

    used: set[str] = set()

    def person() -> tuple[str, str, str]:
        while True:
            born = f"{rng.randint(1940, 2002)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            first17 = rng.choice(REGIONS) + born + f"{rng.randint(0, 999):03d}"
            if first17 not in used:
                used.add(first17)
                break
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        phone = f"1{rng.choice('3456789')}{rng.randint(0, 10**9 - 1):09d}" if rng.random() < 0.8 else ""
        return name, first17 + mainland_check_character(first17), phone

    def area() -> str:
        value = Decimal(rng.randint(400_000, 3_000_000)) / 10_000  # 40 to 300 m², 4 places
        return str(value.quantize(Decimal("0.01")) if rng.random() < 0.7 else value)

    owner_sets: list[list[tuple[str, str, str]]] = []
    rows: list[list[str]] = []
    for code in unit_codes(units):
        source = rng.random()
        registry = area() if source < 0.6 else ""
        survey = area() if 0.5 < source < 0.85 else ""
        contract = area() if source >= 0.85 else ""
        if rng.random() < 0.03:
            rows.append([code, registry, survey, contract, "是", "", "", ""])
            continue
        if owner_sets and rng.random() < 0.06:
            owners = rng.choice(owner_sets)  # an owner set that already holds a unit
        else:
            size = 1 if rng.random() >= 0.10 else (3 if rng.random() < 0.1 else 2)
            owners = [person() for _ in range(size)]
            owner_sets.append(owners)
        for name, number, phone in owners:
            rows.append([code, registry, survey, contract, "否", name, number, phone])
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("gb18030"))


def change_some(rows: list[list[str]], rng: random.Random, share: float = 0.01) -> list[list[str]]:
    """About `share` of the units re-surveyed; a few units dropped."""
    changed = []
    touched: dict[str, str] = {}
    for cells in rows:
        cells = list(cells)
        code = cells[0]
        if code not in touched:
            roll = rng.random()
            touched[code] = "drop" if roll < share / 10 else "area" if roll < share else ""
        if touched[code] == "drop":
            continue
        if touched[code] == "area":
            cells[2] = "123.4567"
        changed.append(cells)
    return changed


# --- Databases -------------------------------------------------------------------------------


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True, connect_timeout=5)


def create_database(backend: str, workdir: Path) -> str:
    """A freshly migrated database with the estate to import into; returns its URL."""
    from sqlmodel import Session

    from assembly.db import make_engine
    from assembly.migrations import upgrade
    from assembly.register.models import Community, District, Estate, StreetOffice

    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        name = f"assembly_bench_{uuid.uuid4().hex[:8]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            district = District(name="基准区")
            session.add(district)
            session.flush()
            office = StreetOffice(district_id=district.id, name="基准街道")
            session.add(office)
            session.flush()
            community = Community(street_office_id=office.id, name="基准社区", residents_committee="基准社区居委会")
            session.add(community)
            session.flush()
            session.add(Estate(code=ESTATE, name="基准小区", community_id=community.id))
            session.commit()
    finally:
        engine.dispose()
    return url


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = url.rsplit("/", 1)[1]
    assert name.startswith("assembly_bench_")
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- One import, in a child process ----------------------------------------------------------


def child(url: str, file: Path, profile: Path | None) -> None:
    from assembly.db import make_engine
    from assembly.register.cli import DEFAULT_REASON, apply_file, default_evidence, read_file

    engine = make_engine(url)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    content, rows = read_file(file, max_bytes=64 * 1024 * 1024)
    parsed = time.perf_counter()
    outcome = apply_file(
        engine, estate_code=ESTATE, rows=rows, reason=DEFAULT_REASON, evidence=default_evidence(file, content), id_key=ID_KEY
    )
    applied = time.perf_counter()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    engine.dispose()
    version = outcome.version
    print(
        json.dumps(
            {
                "parse": parsed - started,
                "apply": applied - parsed,
                "total": applied - started,
                "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "cpu": (lambda usage: usage.ru_utime + usage.ru_stime)(resource.getrusage(resource.RUSAGE_SELF)),
                "rows": len(rows),
                "created": outcome.created,
                "version": version.number,
                "units": version.unit_count,
                "members": version.member_count,
            }
        )
    )


def run_child(url: str, file: Path, profile: Path | None = None) -> dict:
    command = [sys.executable, __file__, "--child", url, str(file)]
    if profile:
        command += ["--profile", str(profile)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"import failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=3, help="fresh database per run; the best run is shown")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the first import to DIR/<backend>.prof")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:  # --profile is then the stats file itself
        child(arguments.child[0], Path(arguments.child[1]), arguments.profile)
        return

    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="assembly-bench-") as temp:
        workdir = Path(temp)
        started = time.perf_counter()
        rows = generate_register(arguments.units, rng)
        first = workdir / "register.csv"
        write_csv(first, rows)
        second = workdir / "register-changed.csv"
        write_csv(second, change_some(rows, rng))
        units = len({cells[0] for cells in rows})
        print(
            f"register: {units} units, {len(rows)} rows, {sum(1 for c in rows if c[4] == '是')} developer units, "
            f"{first.stat().st_size / 2**20:.1f} MiB GB18030 CSV (generated in {time.perf_counter() - started:.1f} s)"
        )
        print(f"best of {arguments.runs} runs (wall seconds; the machine may be shared), median total in brackets")
        print(
            f"{'backend':<11} {'import':<11} {'parse s':>8} {'apply s':>8} {'total s':>8} {'(median)':>9} "
            f"{'CPU s':>6} {'RSS MiB':>8}  result"
        )
        failed = False
        labels = (("first", first), ("same again", first), ("1% changed", second))
        for backend in arguments.backends.split(","):
            results: dict[str, list[dict]] = {label: [] for label, _file in labels}
            for run in range(arguments.runs):
                url = create_database(backend, workdir)
                try:
                    profile = None
                    if arguments.profile and run == 0:
                        arguments.profile.mkdir(parents=True, exist_ok=True)
                        profile = arguments.profile / f"{backend}.prof"
                    for label, file in labels:
                        results[label].append(run_child(url, file, profile if label == "first" else None))
                finally:
                    drop_database(url)
            for label, _file in labels:
                best = min(results[label], key=lambda result: result["total"])
                median = statistics.median(result["total"] for result in results[label])
                verdict = ""
                if label == "first":
                    ok = best["total"] < TARGET_SECONDS
                    failed |= not ok
                    verdict = f"  target < {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}"
                state = f"v{best['version']} {'new' if best['created'] else 'unchanged'}, {best['members']} members"
                print(
                    f"{backend:<11} {label:<11} {best['parse']:>8.2f} {best['apply']:>8.2f} {best['total']:>8.2f} "
                    f"{f'({median:.2f})':>9} {best['cpu']:>6.1f} {best['rss_mib']:>8.0f}  {state}{verdict}"
                )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Time `assembly tally FILE` end to end on a large estate: 100,000 voting members, 90,000 ballots.

Run: .venv/bin/python bench/bench_tally.py [--members N] [--ballots N] [--runs N]
The file is generated from a fixed seed into a temporary directory; the command runs as a
subprocess (interpreter start, parse, check, count, print) and its peak RSS comes from
getrusage(RUSAGE_CHILDREN). Target: under 2 s wall.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 2.0
SEED = 20110011  # 京建法〔2011〕11号


def generate_tally(members: int, ballots: int, rng: random.Random) -> dict:
    """A realistic mix: developer units, co-owned units, owners of several units, areas from
    all three sources, and ballots with proxies, paper, revotes and a few that are refused."""
    units: list[dict] = []
    for _ in range(members // 50):  # the developer's unsold units: all one member
        units.append(_unit(len(units), {"developer": True}, rng))
    for owner in range(members - 1):
        owners = [f"p{owner}", f"q{owner}"] if rng.random() < 0.15 else [f"p{owner}"]  # 15% co-owned
        for _ in range(rng.choice((1, 1, 1, 1, 1, 1, 1, 1, 2, 3))):  # some own several units
            units.append(_unit(len(units), {"owners": owners}, rng))
    rng.shuffle(units)
    unit_ids = [unit["id"] for unit in units]
    cast = []
    for _ in range(ballots):
        ballot: dict = {"unit": rng.choice(unit_ids), "choice": rng.choice(("agree", "agree", "oppose", "abstain"))}
        roll = rng.random()
        if roll < 0.05:
            ballot["by"] = "proxy"
        elif roll < 0.08:
            ballot["by"] = "paper"
        elif roll < 0.081:
            ballot["unit"] = "no-such-unit"
        elif roll < 0.082:
            ballot["choice"] = "maybe"
        cast.append(ballot)
    return {"format": "assembly-tally/1", "item": 6, "kind": "motion", "revote": "last", "units": units, "ballots": cast}


def _unit(number: int, holder: dict, rng: random.Random) -> dict:
    places = rng.choice((2, 3, 4))
    area = f"{rng.randint(40, 299)}.{rng.randrange(10**places):0{places}d}"
    source = rng.choice(("registry", "registry", "survey", "contract"))
    areas = {source: area}
    if source != "contract" and rng.random() < 0.3:
        areas["contract"] = f"{rng.randint(40, 300)}.00"  # a lower-priority area that must be ignored
    return {"id": f"{number // 1000 + 1}-{number % 1000 + 1}", **holder, "area": areas}


def command() -> list[str]:
    """The installed `assembly` script beside this interpreter, else `python -m assembly.cli`."""
    script = Path(sys.executable).with_name("assembly")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "assembly.cli"]


def run_once(arguments: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one run of the command, and what it printed."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    finished = subprocess.run([*command(), *arguments], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        sys.exit(f"assembly {arguments[0]} failed ({finished.returncode}): {finished.stderr.strip()}")
    return wall, _children_cpu() - cpu_before, finished.stdout


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ballots", type=int, default=90_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    document = generate_tally(args.members, args.ballots, random.Random(SEED))
    directory = Path(tempfile.mkdtemp(prefix="bench-tally-"))
    try:
        path = directory / "tally.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        startup = statistics.median(run_once(["tally", "--help"])[0] for _ in range(args.runs))
        runs = [run_once(["tally", str(path)]) for _ in range(args.runs)]
        result = json.loads(runs[-1][2])
        walls, cpus = [run[0] for run in runs], [run[1] for run in runs]
        wall = statistics.median(walls)
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        print(f"units          {len(document['units']):>10,}")
        print(f"members        {result['total']['heads']:>10,}")
        print(f"ballots        {len(document['ballots']):>10,}  ({len(result['rejected']):,} rejected)")
        print(f"file size      {path.stat().st_size / 2**20:>10.1f} MiB")
        print(f"wall seconds   {wall:>10.3f}  (median of {args.runs}: {', '.join(f'{w:.3f}' for w in walls)})")
        print(f"CPU seconds    {statistics.median(cpus):>10.3f}  (user + system, median)")
        print(f"of which start {startup:>10.3f}  (`assembly tally --help`: interpreter and CLI imports)")
        print(f"peak RSS       {peak_mib:>10.1f} MiB")
        print(f"target         < {TARGET_SECONDS:.0f} s wall: {'met' if wall < TARGET_SECONDS else 'MISSED'}")
    finally:
        shutil.rmtree(directory)


if __name__ == "__main__":
    main()

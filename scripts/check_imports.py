"""Every module of the package imports first in a fresh interpreter: no import cycle that works in
one order only (an import written inside a function to dodge one is refused by ruff's PLC0415).
Run by `make lint`; prints the modules that fail and exits 1."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import assembly


def first_import(name: str) -> str | None:
    done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True)
    return None if done.returncode == 0 else f"{name}: {done.stderr.strip().splitlines()[-1]}"


def main() -> int:
    names = sorted(m.name for m in pkgutil.walk_packages(assembly.__path__, "assembly.")
                   if not m.name.endswith("__main__"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        failed = [line for line in pool.map(first_import, names) if line]
    for line in failed:
        print(line)
    print(f"{len(names)} modules, {len(failed)} fail to import first")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

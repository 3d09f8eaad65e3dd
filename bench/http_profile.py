"""Where the server's time goes: a summary of a py-spy raw (collapsed-stack) profile.

Each line of the profile is `frame;frame;…;frame COUNT`, a frame `name (path:line)`. Each sample
counts once: for the step of the request it was in (the deepest frame naming a step), and for the
library of its innermost frame; then the costliest functions by own time.
"""

from __future__ import annotations

import re
from collections import Counter

# Steps of a request: a sample goes to the deepest frame of its stack that names a step.
STEPS = [
    ("session lookup: JWT, session row, card, person (auth/web.py _resolve)", r"^_resolve \(assembly/auth/web\.py"),
    ("session touch (last_seen_at, once a minute per session)", r"^_touch \(assembly/auth/web\.py"),
    ("authenticate: CSRF check, request state", r"^authenticate \(assembly/auth/web\.py"),
    ("estate_for: estate by code, permission", r"^estate_for\.<locals>\.dependency "),
    ("route: meeting + motion by id", r"^get_(meeting|motion) \(assembly/voting/meetings\.py"),
    ("cast: roll lookup (casting.holdings)", r"^holdings \(assembly/voting/casting\.py"),
    ("cast: audit append (sequencer, last time, hashes, inserts)", r"^append_many \(assembly/audit/store\.py"),
    ("cast: the rest (meeting lock, idempotency check, ballot insert)", r"^cast \(assembly/voting/casting\.py"),
    ("route: the rest (body, JSON answer)", r"^cast_ballot \(assembly/voting/api\.py"),
    ("healthz (select 1)", r"^health \(assembly/web/pages\.py"),
    ("transaction end: commit, close (web/deps.py)", r"^(off_loop|get_session) \(assembly/web/deps\.py"),
    ("middleware: cookies, security headers (own time)", r"^(AuthCookies|SecurityHeaders)\..*\(assembly/"),
]
MIDDLEWARE = STEPS[-1][0]
# Where the CPU is, by the innermost frame's library.
LIBRARIES = [
    ("SQLAlchemy", r"\(sqlalchemy/"), ("SQLModel", r"\(sqlmodel/"), ("DB driver (pysqlite3/psycopg)", r"\((pysqlite3|psycopg)"),
    ("FastAPI / Starlette", r"\((fastapi|starlette)/"), ("anyio / asyncio / threading", r"\((anyio/|asyncio/|threading|selectors|concurrent/|queue)"),
    ("uvicorn / h11", r"\((uvicorn|h11)/"), ("pydantic", r"\(pydantic"), ("PyJWT / hmac / hashlib", r"\((jwt/|hmac|hashlib)"),
    ("json", r"\(json/"), ("logging", r"\(logging/"), ("assembly", r"\(assembly/"),
]
FRAME = re.compile(r"^(?P<name>.*?) \((?P<path>[^:()]*)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["path"]
    for marker in ("site-packages/", "/assembly/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/assembly/":
                path = "assembly/" + path
            break
    return f"{match['name']} ({path})"


def summarize(raw: str, *, top: int = 15) -> str:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.splitlines():
        frames, _, count = line.rstrip().rpartition(" ")
        if count.isdigit() and frames:
            stacks.append(([_short(f) for f in frames.split(";") if "(" in f], int(count)))
    total = sum(count for _, count in stacks) or 1
    steps = [(label, re.compile(pattern)) for label, pattern in STEPS]
    libraries = [(label, re.compile(pattern)) for label, pattern in LIBRARIES]
    by_step: Counter = Counter()
    by_library: Counter = Counter()
    own: Counter = Counter()
    for frames, count in stacks:
        step = "framework: uvicorn, routing, dependency solving, thread hand-offs, event loop"
        for depth in range(len(frames) - 1, -1, -1):
            found = next((label for label, pattern in steps if pattern.search(frames[depth])), None)
            if found == MIDDLEWARE and depth < len(frames) - 3:
                continue  # the middleware is an ancestor of everything on the event loop: own time only
            if found:
                step = found
                break
        by_step[step] += count
        leaf = frames[-1] if frames else "?"
        by_library[next((label for label, pattern in libraries if pattern.search(leaf)), "other")] += count
        own[leaf] += count
    lines = [f"  profile: {total:,} samples of the server holding the GIL", "  by step of the request:"]
    lines += [f"  {100 * count / total:5.1f} %  {label}" for label, count in by_step.most_common()]
    lines.append("  by library (innermost frame):")
    lines += [f"  {100 * count / total:5.1f} %  {label}" for label, count in by_library.most_common()]
    lines.append("  costliest functions by own time:")
    lines += [f"  {100 * count / total:5.1f} %  {frame}" for frame, count in own.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(summarize(open(sys.argv[1], encoding="utf-8").read()))

"""The load generator of bench_http_ballots.py, run as a process of its own (never inside the server).

Closed loop: N clients, each on its own keep-alive HTTP/1.1 connection, send their next request as
soon as the previous answer is read. A minimal asyncio HTTP client (a request line, headers, a
Content-Length body) keeps the generator's own CPU small next to the server's; a client library
(httpx) would need about as much CPU per request as the server and starve it on two cores.

Usage (by the bench): python bench/http_load.py PLAN.json OUT.json
PLAN: {"host", "port", "mode": "ballots"|"trivial", "clients", "seconds", "warmup", "path",
       "trivial_path", "owners": [{"member", "session", "csrf"}, ...], "cookie": name, "nonce_cookie": name,
       "run": a tag making idempotency keys unique across cells}
OUT:  {"latencies": [seconds of each success that ended in the window], "ok", "errors" (in the window),
       "all_ok" (every success, warm-up and tail included), "statuses": {code: count},
       "samples": [first error answers], "window", "cpu_percent": {"self", and each
       group of plan["watch"] ({name: [pids]}), % of one core over the window}}
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import sys
import time


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system, all threads) of these processes, from /proc; gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / TICKS


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length, keep_alive = 0, True
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding":
            raise ConnectionError("chunked answers are not expected here")
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
    body = await reader.readexactly(length) if length else b""
    return status, body, keep_alive


class Result:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.ok = 0
        self.all_ok = 0
        self.errors = 0
        self.statuses: dict[str, int] = {}
        self.samples: list[str] = []


async def _client(number: int, plan: dict, owners: list[dict], start: float, stop: float, result: Result) -> None:
    host, port, mode = plan["host"], plan["port"], plan["mode"]
    expected = 201 if mode == "ballots" else 200
    nonce = secrets.token_urlsafe(32)
    reader = writer = None
    sent = 0
    while True:
        now = time.perf_counter()
        if now >= stop:
            break
        owner = owners[sent % len(owners)]
        sent += 1
        cookie = f"{plan['cookie']}={owner['session']}; {plan['nonce_cookie']}={nonce}"
        if mode == "ballots":
            body = json.dumps({"member": owner["member"], "choice": ("agree", "oppose", "abstain")[sent % 3],
                               "idempotency_key": f"{plan['run']}-{number}-{sent}"}).encode()
            head = (f"POST {plan['path']} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
                    f"X-CSRF-Token: {owner['csrf']}\r\nContent-Type: application/json\r\n"
                    f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        else:
            body = b""
            head = (f"GET {plan['trivial_path']} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
                    f"Accept: application/json\r\n\r\n")
        began = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(head.encode() + body)
            status, answer, keep_alive = await _read_response(reader)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
            status, answer, keep_alive = 0, repr(error).encode(), False
        ended = time.perf_counter()
        if not keep_alive and writer is not None:
            writer.close()
            reader = writer = None
        if status == expected:
            result.all_ok += 1  # every success, in the window or not: the database must hold exactly these
        if not start <= ended < stop:
            continue  # warm-up or tail: not in the figures
        result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1
        if status == expected:
            result.ok += 1
            result.latencies.append(ended - began)
        else:
            result.errors += 1
            if len(result.samples) < 5:
                result.samples.append(f"{status} {answer[:300].decode('utf-8', 'replace')}")
    if writer is not None:
        writer.close()


async def run(plan: dict) -> dict:
    owners = plan["owners"]
    clients = plan["clients"]
    began = time.perf_counter()
    start = began + plan["warmup"]
    stop = start + plan["seconds"]
    result = Result()
    # Client i speaks for owners i, i+N, i+2N, … (each owner's session used by one connection only).
    shares = [owners[i::clients] or owners[i % len(owners):][:1] for i in range(clients)]
    watched = {group: [int(pid) for pid in pids] for group, pids in plan.get("watch", {}).items()}
    marks: dict[str, dict] = {}

    async def mark(name: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        marks[name] = {"self": _cpu(), "wall": time.perf_counter(),
                       **{group: _proc_cpu(pids) for group, pids in watched.items()}}

    markers = [asyncio.create_task(mark("start", start)), asyncio.create_task(mark("stop", stop))]
    await asyncio.gather(*(_client(i, plan, shares[i], start, stop, result) for i in range(clients)))
    await asyncio.gather(*markers)
    wall = marks["stop"]["wall"] - marks["start"]["wall"]
    cpu = {name: round(100 * (marks["stop"][name] - marks["start"][name]) / wall, 1)
           for name in ("self", *watched)}
    return {"latencies": result.latencies, "ok": result.ok, "all_ok": result.all_ok, "errors": result.errors,
            "statuses": result.statuses, "samples": result.samples, "window": plan["seconds"],
            "cpu_percent": cpu}


def main() -> int:
    plan = json.loads(open(sys.argv[1], encoding="utf-8").read())
    out = asyncio.run(run(plan))
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump(out, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())

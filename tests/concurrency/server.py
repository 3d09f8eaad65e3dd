"""A real server for the concurrency tests: `assembly serve` in a subprocess on a database of the
test's own (the test environment's secrets are inherited, so the test can make sessions the server
accepts), its job runner running every half second."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    def __init__(self, database_url: str, workdir: Path, *, name: str = "server", jobs_every: float = 0.5) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "ASSEMBLY_DATABASE_URL": database_url, "ASSEMBLY_SITE_URL": self.base,
               "ASSEMBLY_JOBS_INTERVAL_SECONDS": str(jobs_every),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.log_path = workdir / f"{name}.log"
        self.log = open(self.log_path, "wb")
        command = [str(Path(sys.executable).parent / "assembly"), "serve", "--host", "127.0.0.1",
                   "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 90
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start:\n{self.output()}")
            time.sleep(0.2)

    def answers(self, timeout: float = 2) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=timeout) as answer:
                return answer.status == 200
        except OSError:
            return False

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

"""Tally's processes as subprocesses, for the multi-process system tests.

Each process gets a session of its own, so that ``kill()`` takes down a worker
with its pool children at once, as a lost host would.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"


def database_url(params: dict) -> str:
    """The URL of the database Django reaches with ``params`` (a settings dict)."""
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    auth = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
    return (
        f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
        f"/{params['NAME']}"
    )


def children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (Linux)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Start web, worker and Beat processes against one database and broker."""

    def __init__(self, *, database_url: str, broker_url: str, **env: str) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "LOG_LEVEL": "WARNING",
            # As the suite's own settings (tests/conftest.py): receivers on
            # loopback, and bursts from one key without rate limits.
            "TALLY_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
            "TALLY_RATE_LIMIT_READ": "0",
            "TALLY_RATE_LIMIT_WRITE": "0",
            **env,
        }
        self.running: list[subprocess.Popen] = []

    def _start(self, args: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, start_new_session=True)
        self.running.append(process)
        return process

    def web(self, *, workers: int = 2, threads: int = 4) -> tuple[str, int]:
        """Start gunicorn with ``workers`` processes; return its address when up."""
        port = free_port()
        process = self._start(
            [str(BIN / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
             "--threads", str(threads), "--log-level", "warning"]
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/v1/billing/meters")
                connection.getresponse().read()
                connection.close()
                return "127.0.0.1", port
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start within 60 s")

    def worker(self, name: str, queues: list[str], *, concurrency: int = 1):
        """Start a Celery worker consuming only ``queues``, as ``name@<host>``."""
        return self._start(
            [str(BIN / "celery"), "-A", "config", "worker", "-n", f"{name}@%h",
             "-Q", ",".join(queues), "--pool", "prefork",
             "--concurrency", str(concurrency), "--without-gossip",
             "--without-mingle", "--loglevel", "WARNING"]
        )  # fmt: skip

    def beat(self, folder: Path) -> subprocess.Popen:
        return self._start(
            [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "WARNING",
             "--pidfile", str(folder / "beat.pid")]
        )  # fmt: skip

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the process and its children: no shutdown, no acknowledgement."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

"""The soak's installation (a fresh Tally run as the Procfile runs it) and the
peak memory of its processes: bench/bench_soak.py drives the load."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

from bench.support import ROOT, free_port

PYTHON = str(ROOT / ".venv" / "bin" / "python")
LOCKED = "database is locked"


class Installation:
    """A fresh Tally (its own folder, database, broker) run as the Procfile runs it."""

    def __init__(self, database: str, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.env = {
            **os.environ,
            "TALLY_VAR_DIR": str(folder),
            "TALLY_DEV": "true",
            "LOG_LEVEL": "WARNING",
            "TALLY_RATE_LIMIT_READ": "0",
            "TALLY_RATE_LIMIT_WRITE": "0",
            "TALLY_ADMIN_PASSWORD": "soak-password-1",
            "PORT": str(self.port),
        }
        self.env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        if database == "sqlite":
            self.env["DATABASE_URL"] = f"sqlite:///{folder / 'tally.sqlite3'}"
            self.env["CELERY_BROKER_URL"] = "filesystem://"
        else:
            self.env["DATABASE_URL"] = _fresh_postgres("tally_soak")
            broker = os.environ.get("CELERY_BROKER_URL", "")
            self.env["CELERY_BROKER_URL"] = (
                broker if broker.startswith("redis") else "filesystem://"
            )
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def prepare(self) -> dict:
        self.manage("migrate", "--noinput")
        self.manage("load_demo")
        self.manage("ensure_staff_user", "--username", "soak")
        secret = self.manage("create_api_key", "--name", "soak").splitlines()[-1]
        link = self.manage(
            "customer_page_link",
            "billing@northwind.example",
            "--base-url",
            f"http://127.0.0.1:{self.port}",
        ).splitlines()[-1]
        return {"secret": secret, "link": link}

    def start(self) -> None:
        procfile = (ROOT / "Procfile").read_text().splitlines()
        for line in procfile:
            name, _, command = line.partition(":")
            if not command.strip():
                continue
            log = self.folder / f"{name}.log"
            self.logs[name] = log
            with log.open("w") as output:
                self.processes[name] = subprocess.Popen(
                    shlex.split(command),
                    cwd=ROOT,
                    env=self.env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        _wait_ready(f"http://127.0.0.1:{self.port}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)

    def exited(self) -> list[str]:
        """The roles whose process has ended (they should all still run)."""
        return [
            name
            for name, process in self.processes.items()
            if process.poll() is not None
        ]

    def errors_in_logs(self) -> int:
        """Tracebacks and critical errors any process logged."""
        return sum(
            len(re.findall(r"Traceback|CRITICAL", log.read_text(errors="replace")))
            for log in self.logs.values()
        )

    def locked_in_logs(self) -> int:
        return sum(
            log.read_text(errors="replace").count(LOCKED) for log in self.logs.values()
        )


def _fresh_postgres(name: str) -> str:
    import psycopg

    base = os.environ.get("SOAK_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/admin/login/", timeout=10)
            return
        except requests.RequestException:  # not listening yet, or still starting
            time.sleep(0.3)
    raise RuntimeError("the web process did not start within 90 s")


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for child in task.read_text().split():
                found += _tree(int(child))
        except OSError:
            pass
    return found


def _rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) if found else 0


class Memory(threading.Thread):
    """Peak RSS of every process of each role, sampled each second; the samples are
    kept so the first and second halves can be compared (a leak keeps growing)."""

    def __init__(self, processes: dict[str, subprocess.Popen]) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        self.peak: dict[str, int] = defaultdict(int)
        self.samples: dict[str, list[int]] = defaultdict(list)
        self.loads: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.loads.append(os.getloadavg()[0])
            tick: dict[str, int] = defaultdict(int)
            for role, process in self.processes.items():
                for index, pid in enumerate(_tree(process.pid)):
                    name = role if index == 0 else f"{role} (child)"
                    tick[name] = max(tick[name], _rss_kib(pid))
            for name, kib in tick.items():
                self.peak[name] = max(self.peak[name], kib)
                self.samples[name].append(kib)

    def halves(self) -> dict[str, tuple[int, int]]:
        """Each role's peak RSS (KiB) in the first and in the second half of the run."""
        return {
            name: (
                max(values[: len(values) // 2] or [0]),
                max(values[len(values) // 2 :]),
            )
            for name, values in self.samples.items()
            if values
        }

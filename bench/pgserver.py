"""A private PostgreSQL server for the benchmarks, configured as production would be.

A distribution's stock server is sized for a laptop (Debian: ``shared_buffers`` of
128 MB, ``max_wal_size`` of 1 GB), and a busy billing database never runs like that:
with 128 MB the event table's indexes leave the buffer cache after a few million
rows and checkpoints come every few seconds of bulk loading. So ``make bench``
starts its own server from the installed PostgreSQL binaries, with the memory and
checkpoint settings of ``SETTINGS`` and every durability setting at its default
(``fsync``, ``synchronous_commit``, ``full_page_writes`` stay on), in a data
directory that outlives the run (the 10-million-event table is built once), on a
free port, and stops it at the end. ``DATABASE_URL`` measures another server
instead, and ``--server system`` the machine's own at 127.0.0.1:5432.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from bench import support

_GIB = 1024**3


def settings() -> dict[str, str]:
    """What the server runs with: a quarter of the memory for its buffers (at most
    8 GB), room for a long bulk load between checkpoints."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    buffers = max(256 * 1024**2, min(memory // 4, 8 * _GIB))
    return {
        "shared_buffers": f"{buffers // 1024**2}MB",
        "effective_cache_size": f"{memory // 2 // 1024**2}MB",
        "maintenance_work_mem": "512MB",
        "work_mem": "32MB",
        "wal_buffers": "64MB",
        "max_wal_size": "8GB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        # A month's rollups of a customer with dimensions are tens of thousands of
        # rows: the planner's cost passes jit_above_cost and each read then spends
        # ~30 ms compiling (EXPLAIN ANALYZE, bench dimensions). Short OLTP reads
        # never win that back.
        "jit": "off",
    }


def _binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    return Path(versions[-1]).parent if versions else None


def _as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _data_directory() -> Path:
    folder = Path(
        os.environ.get(
            "TALLY_BENCH_PGDATA", Path(tempfile.gettempdir()) / "tally-bench-pg"
        )
    )
    folder.mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    return folder


def unavailable() -> str | None:
    """Why a private server cannot start here, or None."""
    if _binaries() is None:
        return "no PostgreSQL server binaries (initdb) found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run it as"
    return None


def _run(command: list[str], log: Path, *, check: bool = True) -> None:
    with log.open("a") as output:
        subprocess.run(
            _as_owner(command), check=check, stdout=output, stderr=subprocess.STDOUT
        )


@contextmanager
def private_server():
    """Start the private server; yields its database URL, stops it afterwards."""
    binaries = _binaries()
    data = _data_directory()
    log = Path(tempfile.gettempdir()) / "tally-bench-pg.log"
    if not (data / "PG_VERSION").exists():
        _run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            log,
        )
    if (data / "postmaster.pid").exists():  # an interrupted run's, maybe running
        stop = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
        _run(stop, log, check=False)
    port = support.free_port()
    options = " ".join(
        [
            f"-p {port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={data}",
            *(f"-c {name}={value}" for name, value in settings().items()),
        ]
    )
    _run(
        [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w", "start"],
        log,
    )
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/tally_bench"
    finally:
        _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], log)

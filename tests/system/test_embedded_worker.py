"""The embedded default's worker keeps taking tasks after its pool children die.

Issue #20, defect 5: with the no-server broker (kombu's filesystem transport) a
prefork worker stopped taking tasks once its pool children were killed, while
Redis-backed workers recovered. The filesystem transport gives Celery no file
descriptor to wait on, so the prefork pool is billiard's blocking ``Pool``, whose
children read tasks from one pipe under one shared lock; an idle child waits for
work holding that lock, and a child killed then leaves it held for good: every
other child, and each replacement, waits on it forever. The embedded setup now
runs its worker on threads (``CELERY_WORKER_POOL``, config/settings/jobs.py).

The worker is started as the Procfile starts it, on a broker folder of its own;
its pool children (if any) are SIGKILLed three times over, and each time new tasks
must still run.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from tests.system.processes import ROOT, children, database_url

TASK = "core.tasks.idempotency_keys_prune_task"


def _procfile_worker() -> list[str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    line = next(line for line in lines if line.startswith("worker:"))
    return shlex.split(line.partition(":")[2])


def _broker_options(folder: Path) -> dict:
    return {
        "data_folder_in": str(folder / "broker"),
        "data_folder_out": str(folder / "broker"),
        "processed_folder": str(folder / "broker-processed"),
        "control_folder": str(folder / "broker-control"),
        "store_processed": False,
    }


def _succeeded(log: Path) -> int:
    lines = log.read_text().splitlines()
    return sum(1 for line in lines if TASK in line and "succeeded in" in line)


def _wait_for(log: Path, count: int, *, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while _succeeded(log) < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the worker ran {_succeeded(log)} of {count} tasks:\n"
                + log.read_text()[-3000:]
            )
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_the_embedded_worker_takes_tasks_after_its_pool_children_are_killed(
    tmp_path,
):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": "filesystem://",
        "TALLY_VAR_DIR": str(tmp_path),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    env.pop("CELERY_WORKER_POOL", None)
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            _procfile_worker(),
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    # Not the current app: shared tasks queued later in this process (by other
    # tests) would go to this folder broker instead of the suite's app.
    sender = Celery(set_as_current=False)
    # The write URL: Celery reads CELERY_BROKER_URL (the suite's) before broker_url.
    sender.conf.broker_write_url = "filesystem://"
    for folder in ("broker", "broker-processed", "broker-control"):
        (tmp_path / folder).mkdir(exist_ok=True)
    sender.conf.broker_transport_options = _broker_options(tmp_path)
    try:
        sender.send_task(TASK, queue="default")
        _wait_for(log, 1, timeout=60)  # start-up included
        done = 1
        for _ in range(3):
            for child in children(worker.pid):
                os.kill(child, signal.SIGKILL)
            time.sleep(1)  # the pool replaces them, if it has any
            for _ in range(2):
                sender.send_task(TASK, queue="default")
            done += 2
            _wait_for(log, done)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

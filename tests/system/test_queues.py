"""Celery queues: every task is routed by name, and `make run` consumes them all."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
TALLY_APPS = (
    "core.",
    "catalog.",
    "metering.",
    "credits.",
    "billing.",
    "alerts.",
    "payments.",
)


def _tally_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.startswith(TALLY_APPS))


def test_every_task_is_routed_to_a_declared_queue():
    tasks = _tally_tasks()
    assert tasks, "no Tally task registered"
    unrouted = [name for name in tasks if name not in settings.CELERY_TASK_ROUTES]
    assert unrouted == []
    for name in tasks:
        queue = app.amqp.router.route({}, name, (), {}, None)["queue"]
        assert queue.name == settings.CELERY_TASK_ROUTES[name]["queue"]
        assert queue.name in settings.CELERY_TASK_QUEUES


def test_routes_name_no_missing_task():
    assert sorted(settings.CELERY_TASK_ROUTES) == _tally_tasks()


def test_scheduled_jobs_have_routes():
    for job in settings.CELERY_BEAT_SCHEDULE.values():
        assert job["task"] in settings.CELERY_TASK_ROUTES


def test_the_ingestion_side_job_has_its_own_queue():
    routes = settings.CELERY_TASK_ROUTES
    assert routes["alerts.tasks.usage_changes_evaluate_task"]["queue"] == "realtime"
    assert routes["billing.tasks.subscriptions_close_due_task"]["queue"] == "invoicing"
    assert routes["core.tasks.test_clock_advance_task"]["queue"] == "invoicing"
    assert routes["core.tasks.webhook_lane_send_task"]["queue"] == "webhooks"


def test_make_run_worker_consumes_every_queue():
    procfile = (ROOT / "Procfile").read_text()
    worker = next(line for line in procfile.splitlines() if line.startswith("worker:"))
    queues = re.search(r"-Q (\S+)", worker).group(1).split(",")
    assert sorted(queues) == sorted(settings.CELERY_TASK_QUEUES)


def test_eager_mode_runs_routed_tasks_in_process(db):
    from core.tasks import idempotency_keys_prune_task

    assert app.conf.task_always_eager
    result = idempotency_keys_prune_task.delay()
    assert result.successful()
    assert result.get() == 0

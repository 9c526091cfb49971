"""Celery: the broker, queues, routes and the one Beat schedule."""

import os
from datetime import timedelta

from config.settings.env import VAR_DIR, env_bool

# Celery: an embedded filesystem broker by default, Redis in production.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem"):
    for folder in ("broker", "broker-processed", "broker-control"):
        (VAR_DIR / folder).mkdir(exist_ok=True)
    # The worker's pool. kombu's filesystem transport has no file descriptor to
    # wait on, so Celery drives a prefork pool through billiard's blocking Pool,
    # whose children share one lock on the task pipe: a child killed while holding
    # it (an idle child waits for work holding it) leaves every other child waiting
    # forever, and the worker takes no task again. Threads share no such lock.
    # With Redis, Celery's own pool gives each child a pipe of its own (prefork).
    CELERY_WORKER_POOL = os.environ.get("CELERY_WORKER_POOL", "threads")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        # Seconds between looks at the folder: real-time usage evaluations are
        # queued a fraction of a second ahead.
        "polling_interval": 0.1,
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        # Broadcast (remote control) messages; kombu's default is ./control.
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Seconds before a task a worker took but never acknowledged (the worker was
    # killed, its host lost) goes back on its queue for another worker. Longer than
    # the longest task: a task still running when it expires runs twice (harmless,
    # every task is idempotent, but wasted work).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        # A broker host that does not answer (rather than refuse) costs a request
        # at most this many seconds per attempt; the OS default is minutes.
        "socket_connect_timeout": float(
            os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "1")
        ),
    }
# Queueing from a request tries twice, then gives up: the caller logs it and the
# Beat jobs find the work due in the database (core/queue.py, README "Broker down").
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}

# Queues, so that each kind of work can get workers of its own (docs/deploy.md):
# a backlog of one (a long period close, an endpoint retrying) never delays the
# others. A worker started without -Q consumes all of them (`make run`).
CELERY_TASK_QUEUES = {
    name: {"routing_key": name}
    for name in ("realtime", "invoicing", "payments", "webhooks", "default")
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Every task names its queue here; tests/system/test_queues.py checks none is left
# to the default by omission.
CELERY_TASK_ROUTES = {
    # Ingestion side jobs: real-time usage and alert evaluation.
    "alerts.tasks.usage_changes_evaluate_task": {"queue": "realtime"},
    "alerts.tasks.alerts_evaluate_task": {"queue": "realtime"},
    "alerts.tasks.limits_evaluate_task": {"queue": "realtime"},
    "metering.tasks.meter_event_sessions_prune_task": {"queue": "realtime"},
    "metering.tasks.meter_event_partitions_ensure_task": {"queue": "realtime"},
    # Money: period close, finalization, thresholds, credits, test-clock advances.
    "billing.tasks.subscriptions_close_due_task": {"queue": "invoicing"},
    "billing.tasks.invoices_finalize_due_task": {"queue": "invoicing"},
    "alerts.tasks.billing_thresholds_evaluate_task": {"queue": "invoicing"},
    "credits.tasks.credit_grants_process_due_task": {"queue": "invoicing"},
    "credits.tasks.credit_grant_expiry_notices_send_task": {"queue": "invoicing"},
    "core.tasks.test_clock_advance_task": {"queue": "invoicing"},
    "core.tasks.test_clocks_resume_stale_task": {"queue": "invoicing"},
    # Collection: charges, retries and dunning.
    "payments.tasks.invoice_payment_attempt_task": {"queue": "payments"},
    "payments.tasks.invoices_collect_due_task": {"queue": "payments"},
    "payments.tasks.auto_top_ups_evaluate_task": {"queue": "payments"},
    "payments.tasks.invoice_reminders_send_due_task": {"queue": "payments"},
    # Webhook fan-out and delivery.
    "core.tasks.webhook_delivery_send_task": {"queue": "webhooks"},
    "core.tasks.webhook_lane_send_task": {"queue": "webhooks"},
    "core.tasks.webhook_deliveries_dispatch_due_task": {"queue": "webhooks"},
    "core.tasks.webhook_fanout_reconcile_task": {"queue": "webhooks"},
    # Everything else: email and housekeeping.
    "core.tasks.email_send_task": {"queue": "default"},
    "core.tasks.emails_send_task": {"queue": "default"},
    "core.tasks.emails_send_due_task": {"queue": "default"},
    "core.tasks.idempotency_keys_prune_task": {"queue": "default"},
    "core.tasks.test_clocks_delete_expired_task": {"queue": "default"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The one schedule of periodic jobs; django-celery-beat copies it into its tables.
CELERY_BEAT_SCHEDULE = {
    "prune-idempotency-keys": {
        "task": "core.tasks.idempotency_keys_prune_task",
        "schedule": timedelta(hours=1),
    },
    "resume-stale-test-clock-advances": {
        "task": "core.tasks.test_clocks_resume_stale_task",
        "schedule": timedelta(minutes=1),
    },
    "billing-close-due-periods": {
        "task": "billing.tasks.subscriptions_close_due_task",
        "schedule": timedelta(minutes=1),
    },
    "billing-finalize-due-drafts": {
        "task": "billing.tasks.invoices_finalize_due_task",
        "schedule": timedelta(minutes=1),
    },
    "dispatch-due-webhook-deliveries": {
        "task": "core.tasks.webhook_deliveries_dispatch_due_task",
        "schedule": timedelta(seconds=20),
    },
    "reconcile-webhook-fanout": {
        "task": "core.tasks.webhook_fanout_reconcile_task",
        "schedule": timedelta(minutes=5),
    },
    "send-due-emails": {
        "task": "core.tasks.emails_send_due_task",
        "schedule": timedelta(minutes=1),
    },
    "credit-grants-process-due": {
        "task": "credits.tasks.credit_grants_process_due_task",
        "schedule": timedelta(minutes=1),
    },
    "credit-grants-send-expiry-notices": {
        "task": "credits.tasks.credit_grant_expiry_notices_send_task",
        "schedule": timedelta(minutes=1),
    },
    "meter-event-partitions-ahead": {
        "task": "metering.tasks.meter_event_partitions_ensure_task",
        "schedule": timedelta(hours=6),
    },
    "prune-meter-event-sessions": {
        "task": "metering.tasks.meter_event_sessions_prune_task",
        "schedule": timedelta(hours=6),
    },
    "alerts-evaluate": {
        "task": "alerts.tasks.alerts_evaluate_task",
        "schedule": timedelta(minutes=1),
    },
    "usage-limits-evaluate": {
        "task": "alerts.tasks.limits_evaluate_task",
        "schedule": timedelta(minutes=1),
    },
    "billing-thresholds-evaluate": {
        "task": "alerts.tasks.billing_thresholds_evaluate_task",
        "schedule": timedelta(minutes=1),
    },
    "payments-collect-due": {
        "task": "payments.tasks.invoices_collect_due_task",
        "schedule": timedelta(minutes=1),
    },
    "payments-invoice-reminders": {
        "task": "payments.tasks.invoice_reminders_send_due_task",
        "schedule": timedelta(minutes=15),
    },
    "payments-auto-top-ups": {
        "task": "payments.tasks.auto_top_ups_evaluate_task",
        "schedule": timedelta(minutes=1),
    },
}

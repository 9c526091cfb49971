"""What the alerts app does when metering reports usage (``metering.signals``).

``usage_recorded`` queues one run of ``usage_changes_evaluate`` to start
``TALLY_USAGE_DEBOUNCE`` seconds later. Until it starts, further commits in this
process need no message of their own: the run reads every event committed before
it. So a process sends at most one message per debounce interval however fast
events arrive, and each event is acted on within about that interval.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings

from alerts.services.progress import alert_progress_cancel
from alerts.tasks import usage_changes_evaluate_task

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# Monotonic time at which the run queued by this process starts; commits before
# it are covered by that run.
_queued_run_starts = 0.0


def _forget_queued_run() -> None:
    global _queued_run_starts
    _queued_run_starts = 0.0


os.register_at_fork(after_in_child=_forget_queued_run)


def on_usage_recorded(sender, **kwargs) -> None:
    """Queue a run of the usage evaluation, unless one queued here starts later."""
    global _queued_run_starts
    if usage_changes_evaluate_task.app.conf.task_always_eager:
        usage_changes_evaluate_task.delay()
        return
    delay = settings.TALLY_USAGE_DEBOUNCE
    now = time.monotonic()
    with _lock:
        if now < _queued_run_starts:
            return
        _queued_run_starts = now + delay
    try:
        usage_changes_evaluate_task.apply_async(countdown=delay)
    except Exception:
        # The events are stored; the Beat job evaluates them within a minute.
        logger.exception("Could not queue the usage evaluation")
        _forget_queued_run()


def on_meter_event_cancelled(sender, *, event, now, **kwargs) -> None:
    alert_progress_cancel(event=event, now=now)

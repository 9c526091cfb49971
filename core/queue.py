"""Queueing background work by name: the seam between services and task modules.

A service that hands work to a worker calls ``enqueue("email_send", email_id)``
instead of importing the task module, which imports the services it runs (so the
two would import each other). Task modules register their tasks here when they
are loaded (``core.apps`` loads ``core.tasks`` at start-up); the names are the
tasks' names without the ``_task`` suffix.

The broker may be down. Every caller then logs the failure and leaves the work to
a Beat job that finds it due in the database; so that each request does not wait
out the connection attempts again, a failure to reach the broker makes ``enqueue``
refuse at once for ``BROKER_RETRY_SECONDS`` (per process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from kombu.exceptions import OperationalError

# Seconds after a failure to reach the broker during which ``enqueue`` does not try.
BROKER_RETRY_SECONDS = 5.0

_lock = threading.Lock()
_broker_down_until = 0.0


class BrokerUnavailable(OperationalError):
    """The broker could not be reached just now; the task was not queued."""


class _Task(Protocol):
    def delay(self, *args: Any) -> Any: ...


_tasks: dict[str, _Task] = {}


def task_register(name: str, task: _Task) -> None:
    """Make ``task`` the one ``enqueue(name, ...)`` queues."""
    _tasks[name] = task


def enqueue(name: str, *args: Any) -> None:
    """Queue the task registered as ``name`` with ``args`` (ids); raises if the
    broker is down, for the caller to log (its Beat job retries)."""
    send_guarded(lambda: _tasks[name].delay(*args), what=name)


def send_guarded(send: Callable[[], Any], *, what: str = "a task") -> None:
    """Call ``send`` (a task's ``delay`` or ``apply_async``), unless the broker
    could not be reached moments ago: then raise ``BrokerUnavailable`` at once."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        raise BrokerUnavailable(f"The broker was unreachable moments ago ({what}).")
    try:
        send()
    except OperationalError:
        with _lock:
            _broker_down_until = time.monotonic() + BROKER_RETRY_SECONDS
        raise


def broker_retry_now() -> None:
    """Forget a recent failure: the next ``enqueue`` tries the broker again."""
    global _broker_down_until
    _broker_down_until = 0.0

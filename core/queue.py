"""Queueing background work by name: the seam between services and task modules.

A service that hands work to a worker calls ``enqueue("email_send", email_id)``
instead of importing the task module, which imports the services it runs (so the
two would import each other). Task modules register their tasks here when they
are loaded (``core.apps`` loads ``core.tasks`` at start-up); the names are the
tasks' names without the ``_task`` suffix.
"""

from __future__ import annotations

from typing import Any, Protocol


class _Task(Protocol):
    def delay(self, *args: Any) -> Any: ...


_tasks: dict[str, _Task] = {}


def task_register(name: str, task: _Task) -> None:
    """Make ``task`` the one ``enqueue(name, ...)`` queues."""
    _tasks[name] = task


def enqueue(name: str, *args: Any) -> None:
    """Queue the task registered as ``name`` with ``args`` (ids); raises if the
    broker is down, for the caller to log (its Beat job retries)."""
    _tasks[name].delay(*args)

"""The audit log: who changed what and when, read from the events.

Every change of an API object goes through a service that records an ``Event`` in
the same transaction (``core.services.events``), whether the dashboard, the API or
a job made it, bulk writes included. Each event also records its **actor**, taken
from the request context (``core.context``):

- ``user:<username>`` for a dashboard request (``DashboardModeMiddleware``);
- ``api_key:<key id>`` for an API request (``ApiKeyMiddleware``);
- ``job:<task name>`` for a Celery task with no request around it.

So the audit log is the event log read by object and actor (``AuditEntry``): it
cannot be edited, and a new kind of object joins it by emitting its events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from django.urls import NoReverseMatch, reverse

from core import context as request_context
from core import resources

HISTORY_ROWS = 20
ACTOR_KINDS = {"user": "Dashboard user", "api_key": "API key", "job": "Job"}


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Record ``actor`` on the events written inside the block."""
    current = request_context.current()
    token = request_context.activate(dataclasses.replace(current, actor=actor))
    try:
        yield
    finally:
        request_context.reset(token)


def actor_for_user(user) -> str:
    return f"user:{user.get_username()}"


def actor_label(actor: str) -> str:
    """How the dashboard names an actor: "API key key_…", "Job billing.…"."""
    if not actor:
        return "System"
    kind, _, name = actor.partition(":")
    if kind == "user":
        return name
    return f"{ACTOR_KINDS.get(kind, kind)} {name}"


def object_admin_url(event) -> str:
    """The dashboard page of the object an event is about ("" if it has none)."""
    object_name = (event.data.get("object") or {}).get("object", "")
    try:
        model = resources.resource_for_object(object_name).model
        return reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
            args=[event.object_id],
        )
    except (KeyError, NoReverseMatch):
        return ""


def changed_fields(event) -> list[str]:
    """The fields an ``*.updated`` event changed, by their API names."""
    return sorted((event.data.get("previous_attributes") or {}).keys())


def object_history(*, object_id: str, limit: int = HISTORY_ROWS) -> list:
    """The latest changes of one object, newest first (one query)."""
    from core.models import AuditEntry

    entries = AuditEntry.objects.filter(object_id=object_id).order_by("-created", "-id")
    return list(entries[:limit])


def jobs_act_as_themselves() -> None:
    """Make a task with no actor around it (a worker, Beat) act as ``job:<name>``;
    an eager task inside a request keeps the request's actor."""
    from celery import signals

    tokens: dict[str, object] = {}

    def before(task_id=None, task=None, **_kwargs) -> None:
        current = request_context.current()
        if current.actor is None and task is not None:
            tokens[task_id] = request_context.activate(
                dataclasses.replace(current, actor=f"job:{task.name}")
            )

    def after(task_id=None, **_kwargs) -> None:
        token = tokens.pop(task_id, None)
        if token is not None:
            request_context.reset(token)

    signals.task_prerun.connect(before, weak=False, dispatch_uid="core.audit.pre")
    signals.task_postrun.connect(after, weak=False, dispatch_uid="core.audit.post")

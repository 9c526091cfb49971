"""The event log: every state change of an API object is recorded as an Event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction

from core import clock, resources
from core import context as request_context
from core.models import Event

# Called with the event id after the recording transaction commits (webhooks).
_after_commit_hooks: list[Callable[[str], None]] = []


def on_event_recorded(hook: Callable[[str], None]) -> None:
    """Run ``hook(event_id)`` after each event's transaction commits."""
    if hook not in _after_commit_hooks:
        _after_commit_hooks.append(hook)


def event_record(
    *,
    type: str,
    data_object: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
    created: datetime | None = None,
) -> Event:
    """Append an event with a snapshot of the object as the API shows it."""
    context = request_context.current()
    data: dict[str, Any] = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    event = Event.objects.create(
        type=type,
        api_version=settings.TALLY_API_VERSION,
        data=data,
        object_id=str(data_object.get("id", "")),
        request_id=context.request_id,
        idempotency_key=context.idempotency_key,
        livemode=bool(data_object.get("livemode", context.livemode)),
        created=created or clock.now(),
    )
    for hook in _after_commit_hooks:
        transaction.on_commit(lambda hook=hook: hook(event.id))
    return event


def event_emit(
    *, type: str, instance: models.Model, previous_attributes: dict | None = None
) -> Event:
    """Record ``type`` for ``instance``, serialized through the resource registry."""
    return event_record(
        type=type,
        data_object=resources.serialize(instance),
        previous_attributes=previous_attributes,
    )


def snapshot(instance: models.Model) -> dict[str, Any]:
    """Return the API view of ``instance`` before a change, for previous_attributes."""
    return resources.serialize(instance)


def event_emit_updated(
    *, type: str, instance: models.Model, before: dict[str, Any]
) -> Event | None:
    """Record an ``*.updated`` event with what changed; nothing if nothing did."""
    after = resources.serialize(instance)
    previous = {key: value for key, value in before.items() if after.get(key) != value}
    if not previous:
        return None
    return event_record(type=type, data_object=after, previous_attributes=previous)

"""The event log: every state change of an API object is recorded as an Event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction

from core import clock, modes, resources
from core import context as request_context
from core.bulk import bulk_insert, new_row
from core.models import Event

# Called with the event id after the recording transaction commits (webhooks).
_after_commit_hooks: list[Callable[[str], None]] = []
# A hook's variant for events recorded together: called once with their ids.
_batch_hooks: dict[Callable[[str], None], Callable[[list[str]], None]] = {}


def on_event_recorded(
    hook: Callable[[str], None], *, many: Callable[[list[str]], None] | None = None
) -> None:
    """Run ``hook(event_id)`` after each event's transaction commits.

    ``many(event_ids)``, when given, runs instead for events recorded together
    (by ``events_record``, or one by one in one transaction): once, in order.
    """
    if hook not in _after_commit_hooks:
        _after_commit_hooks.append(hook)
    if many is not None:
        _batch_hooks[hook] = many


def event_build(
    *,
    type: str,
    data_object: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
    created: datetime | None = None,
) -> Event:
    """An unsaved event with a snapshot of the object as the API shows it."""
    context = request_context.current()
    data: dict[str, Any] = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return new_row(
        Event,
        type=type,
        api_version=settings.TALLY_API_VERSION,
        data=data,
        object_id=str(data_object.get("id", "")),
        request_id=context.request_id,
        idempotency_key=context.idempotency_key,
        actor=context.actor or "",
        # The object's mode; else the request's (API key or dashboard switch).
        livemode=bool(data_object.get("livemode", modes.default_livemode())),
        created=created or clock.now(),
    )


def event_record(
    *,
    type: str,
    data_object: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
    created: datetime | None = None,
) -> Event:
    """Append an event with a snapshot of the object as the API shows it."""
    (event,) = events_record(
        events=[
            event_build(
                type=type,
                data_object=data_object,
                previous_attributes=previous_attributes,
                created=created,
            )
        ]
    )
    return event


def events_record(*, events: Sequence[Event]) -> list[Event]:
    """Append events built by ``event_build`` in one insert, in order.

    Batch jobs record a chunk's events at once; after the transaction commits,
    each hook runs once per event, in order (or its ``many`` variant once, with
    every event the transaction recorded: see ``_RecordedTogether``).
    """
    events = list(events)
    if not events:
        return events
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        # One JSON document for the chunk: psycopg would quote every snapshot
        # in Python (``core.bulk``).
        bulk_insert(events)
    _hooks_after_commit([event.id for event in events])
    return events


class _RecordedTogether:
    """The after-commit call of the hooks for events recorded in one transaction.

    Events recorded one by one in a transaction join the call queued for the
    events before them (when nothing else was queued since, at the same savepoint
    level: a rolled-back savepoint drops its events with the call), so a job that
    records a hundred events fans out once, not a hundred times.
    """

    def __init__(self, event_ids: list[str]) -> None:
        self.event_ids = list(event_ids)
        self.ran = False  # a test's capture may run it early: then it takes no more

    def __call__(self) -> None:
        self.ran = True
        for hook in list(_after_commit_hooks):
            _run_hook(hook, self.event_ids)


def _hooks_after_commit(event_ids: list[str]) -> None:
    if not _after_commit_hooks:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block and connection.run_on_commit:
        savepoints, queued, _ = connection.run_on_commit[-1]
        if (
            isinstance(queued, _RecordedTogether)
            and not queued.ran
            and savepoints == set(connection.savepoint_ids)
        ):
            queued.event_ids.extend(event_ids)
            return
    transaction.on_commit(_RecordedTogether(event_ids))


def _run_hook(hook: Callable[[str], None], event_ids: list[str]) -> None:
    many = _batch_hooks.get(hook)
    if many is not None and len(event_ids) > 1:
        many(event_ids)
        return
    for event_id in event_ids:
        hook(event_id)


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


def event_build_updated(
    *, type: str, instance: models.Model, before: dict[str, Any]
) -> Event | None:
    """An unsaved ``*.updated`` event with what changed; None if nothing did."""
    after = resources.serialize(instance)
    previous = {key: value for key, value in before.items() if after.get(key) != value}
    if not previous:
        return None
    return event_build(type=type, data_object=after, previous_attributes=previous)


def event_emit_updated(
    *, type: str, instance: models.Model, before: dict[str, Any]
) -> Event | None:
    """Record an ``*.updated`` event with what changed; nothing if nothing did."""
    event = event_build_updated(type=type, instance=instance, before=before)
    if event is None:
        return None
    (event,) = events_record(events=[event])
    return event

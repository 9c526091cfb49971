"""Events of the billing app, recorded through core's event log."""

from __future__ import annotations

from typing import Any

from django.db import models

from billing.signals import subscriptions_changed
from core.models import Event
from core.services.events import (
    event_build,
    event_build_updated,
    event_emit,
    event_emit_updated,
    events_record,
    snapshot,
)

_SUBSCRIPTION_EVENTS = "customer.subscription."


def _announce(customer_ids: set[str]) -> None:
    """Tell receivers (entitlements) whose subscriptions just changed."""
    if customer_ids:
        subscriptions_changed.send(sender=Event, customer_ids=sorted(customer_ids))


def emit(event_type: str, instance: models.Model) -> None:
    """Record ``event_type`` with the object as the API shows it now."""
    event_emit(type=event_type, instance=instance)
    if event_type.startswith(_SUBSCRIPTION_EVENTS):
        _announce({instance.customer_id})


def before(instance: models.Model) -> dict[str, Any]:
    """The API view of ``instance`` before a change (for ``*.updated``)."""
    return snapshot(instance)


def emit_updated(event_type: str, instance: models.Model, was: dict[str, Any]) -> None:
    """Record ``event_type`` with ``previous_attributes``, if anything changed."""
    event = event_emit_updated(type=event_type, instance=instance, before=was)
    if event is not None and event_type.startswith(_SUBSCRIPTION_EVENTS):
        _announce({instance.customer_id})


class EventBatch:
    """Events of a batch job: snapshots taken when emitted, recorded in one insert.

    Jobs that handle many objects at once call ``record`` once per chunk, inside
    its transaction, so a chunk's events commit (and reach webhooks) with it.
    """

    def __init__(self) -> None:
        self._events: list[Event] = []

    def emit(self, event_type: str, instance: models.Model) -> None:
        event = event_build(type=event_type, data_object=snapshot(instance))
        self._events.append(event)

    def emit_updated(
        self, event_type: str, instance: models.Model, was: dict[str, Any]
    ) -> None:
        event = event_build_updated(type=event_type, instance=instance, before=was)
        if event is not None:
            self._events.append(event)

    def record(self) -> None:
        """Write the events emitted so far (their hooks run after commit)."""
        events, self._events = self._events, []
        events_record(events=events)
        _announce(
            {
                event.data["object"]["customer"]
                for event in events
                if event.type.startswith(_SUBSCRIPTION_EVENTS)
            }
        )

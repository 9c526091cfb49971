"""Events of the billing app, recorded through core's event log."""

from __future__ import annotations

from typing import Any

from django.db import models

from core.services.events import event_emit, event_emit_updated, snapshot


def emit(event_type: str, instance: models.Model) -> None:
    """Record ``event_type`` with the object as the API shows it now."""
    event_emit(type=event_type, instance=instance)


def before(instance: models.Model) -> dict[str, Any]:
    """The API view of ``instance`` before a change (for ``*.updated``)."""
    return snapshot(instance)


def emit_updated(event_type: str, instance: models.Model, was: dict[str, Any]) -> None:
    """Record ``event_type`` with ``previous_attributes``, if anything changed."""
    event_emit_updated(type=event_type, instance=instance, before=was)

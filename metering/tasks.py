"""Celery tasks of the metering app: read "now", call a service."""

from celery import shared_task

from core import clock
from metering import services
from metering.storage import partitions


@shared_task(acks_late=True)
def meter_event_sessions_prune_task() -> int:
    return services.meter_event_sessions_prune(now=clock.now())


@shared_task(acks_late=True)
def meter_event_partitions_ensure_task() -> list[str]:
    return partitions.partitions_ensure(now=clock.now())

"""Fan-out after commit: an event's deliveries, one per subscribed endpoint, and
their first attempts handed to free lanes or claimed one by one.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q, Subquery
from django.db.models.constants import OnConflict

from core.models import Event, WebhookDelivery, WebhookEndpoint
from core.webhooks import policy
from core.webhooks.dispatch.lanes import (
    DUE_BATCH,
    ENABLED,
    PENDING,
    _lane,
    _lease_free,
    claim,
    endpoint_lanes,
    enqueue_lane,
    lane_claim,
    lane_of,
)


def event_fanout(*, event_id: str, now: datetime) -> int:
    """Create the event's deliveries to every enabled endpoint that wants it."""
    return events_fanout(event_ids=[event_id], now=now)


def events_fanout(*, event_ids: list[str], now: datetime) -> int:
    """Fan events out in one go (in the given order): one read, one insert."""
    if not event_ids:
        return 0
    first = Event.objects.filter(pk=event_ids[0])
    listening = list(
        WebhookEndpoint.objects.filter(status=ENABLED)
        .annotate(
            first_event_type=Subquery(first.values("type")[:1]),
            first_event_livemode=Subquery(first.values("livemode")[:1]),
        )
        .only("id", "enabled_events", "status", "failing_since", "livemode")
    )
    if not listening:  # the common case costs one query
        return 0
    if len(event_ids) == 1:
        first_endpoint = listening[0]
        kinds = {
            event_ids[0]: (
                first_endpoint.first_event_type,
                first_endpoint.first_event_livemode,
            )
        }
    else:
        kinds = {
            event_id: (event_type, livemode)
            for event_id, event_type, livemode in Event.objects.filter(
                pk__in=event_ids
            ).values_list("id", "type", "livemode")
        }
    # An endpoint receives the events of its own mode only (``core.modes``).
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint.id, event_id=event_id, created=now, next_attempt_at=now
        )
        for event_id in event_ids
        if kinds.get(event_id, (None,))[0] is not None
        for endpoint in listening
        if endpoint.livemode == kinds[event_id][1]
        and policy.endpoint_wants(endpoint.enabled_events, kinds[event_id][0])
    ]
    if not deliveries:
        return 0
    _insert_new(deliveries)
    # Committed (autocommit) before looking for what may start: see the top.
    wanted = {delivery.endpoint_id for delivery in deliveries}
    endpoints = [endpoint for endpoint in listening if endpoint.id in wanted]
    return _dispatch_first_attempts(
        endpoints, now=now, lanes=_lanes_of_new(endpoints, event_ids)
    )


def _lanes_of_new(
    endpoints: list[WebhookEndpoint], event_ids: list[str]
) -> dict[str, set[int]]:
    """The lanes the events' deliveries fell in, per endpoint: only those may start.

    Unordered endpoints need the deliveries' ids for that (one indexed read).
    """
    lanes = {endpoint.id: {0} for endpoint in endpoints if endpoint_lanes(endpoint)}
    counts = {endpoint.id: endpoint_lanes(endpoint) for endpoint in endpoints}
    several = [endpoint_id for endpoint_id in lanes if counts[endpoint_id] > 1]
    if several:
        for endpoint_id in several:
            lanes[endpoint_id] = set()
        rows = WebhookDelivery.objects.filter(
            endpoint_id__in=several, event_id__in=event_ids
        ).values_list("endpoint_id", "id")
        for endpoint_id, delivery_id in rows:
            lanes[endpoint_id].add(lane_of(delivery_id, counts[endpoint_id]))
    return lanes


def _insert_new(deliveries: list[WebhookDelivery]) -> None:
    """Insert the deliveries, skipping any an earlier fan-out made (autocommit).

    A few rows go in as one ``INSERT ... ON CONFLICT DO NOTHING``: ``bulk_create``
    would wrap it in a transaction, two more round trips in every request that
    records an event.
    """
    if len(deliveries) > 50:
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        return
    fields = [
        field
        for field in WebhookDelivery._meta.concrete_fields
        if not field.primary_key
    ]
    WebhookDelivery.objects._insert(
        deliveries, fields=fields, on_conflict=OnConflict.IGNORE
    )


def dispatch_first_attempts(*, endpoint_id: str, now: datetime) -> int:
    """Dispatch the first attempts of an endpoint that may start now."""
    endpoints = list(
        WebhookEndpoint.objects.filter(pk=endpoint_id, status=ENABLED).only(
            "id", "status", "failing_since"
        )
    )
    return _dispatch_first_attempts(endpoints, now=now)


def _free_lanes(
    endpoints: list[WebhookEndpoint],
    *,
    now: datetime,
    lanes: dict[str, set[int]] | None = None,
) -> list[tuple]:
    """(endpoint id, lane) of each lane whose head waits and nobody sends.

    ``lanes``: the lanes to look at per endpoint (default: all of them).
    """
    heads, lanes_of = Q(), {}
    for endpoint in endpoints:  # one indexed LIMIT 1 per lane, in one query
        lanes_of[endpoint.id] = count = endpoint_lanes(endpoint)
        wanted = range(count) if lanes is None else lanes.get(endpoint.id, ())
        for lane in wanted:
            heads |= Q(pk=Subquery(_lane(endpoint.id, lane, count).values("id")[:1]))
    if not heads:
        return []
    free = WebhookDelivery.objects.filter(heads, _lease_free(now)).values_list(
        "endpoint_id", "id"
    )
    return sorted(
        (endpoint_id, lane_of(delivery_id, lanes_of[endpoint_id]))
        for endpoint_id, delivery_id in free
    )


def _dispatch_first_attempts(
    endpoints: list[WebhookEndpoint],
    *,
    now: datetime,
    lanes: dict[str, set[int]] | None = None,
) -> int:
    """Start the free lanes of healthy endpoints; claim all of the failing ones'.

    ``lanes``: only these lanes may have new work (default: look at all).
    """
    in_lanes = [endpoint for endpoint in endpoints if endpoint_lanes(endpoint)]
    side_by_side = [
        endpoint.id for endpoint in endpoints if not endpoint_lanes(endpoint)
    ]
    dispatched = 0
    lanes_of = {endpoint.id: endpoint_lanes(endpoint) for endpoint in in_lanes}
    free = _free_lanes(in_lanes, now=now, lanes=lanes) if in_lanes else ()
    for endpoint_id, lane in free:
        claimed = lane_claim(
            endpoint_id=endpoint_id, lane=lane, lanes=lanes_of[endpoint_id], now=now
        )
        if claimed is not None:
            token, ids = claimed
            transaction.on_commit(
                lambda e=endpoint_id, n=lane, t=token, i=ids: enqueue_lane(e, n, t, i)
            )
            dispatched += len(ids)
    if side_by_side:
        waiting = WebhookDelivery.objects.filter(
            _lease_free(now),
            endpoint_id__in=side_by_side,
            status=PENDING,
            attempt_count=0,
        )
        ids = waiting.order_by("id").values_list("id", flat=True)[:DUE_BATCH]
        dispatched += claim(ids, now=now)
    return dispatched

"""Who sends what: fan-out after commit, lanes and leases, the Beat jobs.

Who sends a delivery is decided by leases (conditional updates), not by holding
locks: a delivery is sent only by the worker whose token it carries.

First attempts of a healthy endpoint travel in *lanes*: one lane per endpoint when
its events are ordered, ``TALLY_WEBHOOK_LANES`` (blocks of delivery ids taking
turns) when they are not. A lane is sent by at most one worker at a time, a batch at
a time: a claim leases the lane's next ``TALLY_WEBHOOK_BATCH_SIZE`` first attempts
in id order, but only while the lane's oldest one (its head) is free, that is while
nobody is sending the lane. The worker sends the batch in order, then claims the
lane's next batch itself, until the lane is empty. Hand-overs lose no wake-up
because each side writes (and commits) before it reads: fan-out commits the new
delivery, then looks at the head; the worker commits its last attempt, then claims
again.

Retries, and first attempts of a failing endpoint, are leased one by one and sent
side by side, a task each.

Row locks only serialise writes: a lane claim locks the lane's head delivery; a
transaction that updates an endpoint's failure streak locks the endpoint row
first, then deliveries.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.constants import OnConflict
from django.db.models.functions import Mod

from core.models import Event, WebhookDelivery, WebhookEndpoint
from core.queue import enqueue
from core.webhooks import policy

logger = logging.getLogger(__name__)

PENDING = WebhookDelivery.Status.PENDING
ENABLED = WebhookEndpoint.Status.ENABLED
# A lease outlives the send task's hard time limit: it is only ever taken over from
# a worker that is gone.
LEASE = timedelta(minutes=5)
DUE_BATCH = 500
# The reconcile job leaves this long to the after-commit hook before stepping in.
RECONCILE_SETTLE = timedelta(minutes=1)
# Unordered lanes take turns by blocks of this many delivery ids (``lane_of``).
LANE_BLOCK = 64


def _lease_free(now: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def _first_attempts(endpoint_id) -> QuerySet:
    """Deliveries of the endpoint whose first attempt has not finished."""
    return WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=PENDING, attempt_count=0
    )


def endpoint_lanes(endpoint: WebhookEndpoint) -> int:
    """How many lanes carry the endpoint's first attempts; 0 while it is failing.

    A failing endpoint gets its first attempts side by side: its events are
    retried out of order anyway, and a dead receiver must not grow a queue.
    """
    if endpoint.status != ENABLED or endpoint.failing_since is not None:
        return 0
    return 1 if settings.TALLY_WEBHOOK_ORDERED else settings.TALLY_WEBHOOK_LANES


def lane_of(delivery_id: int, lanes: int) -> int:
    """The lane a delivery goes in: blocks of ids take turns, so events close in
    time share a lane (and a batch) while the lanes still share the work."""
    return (delivery_id // LANE_BLOCK) % lanes


def _lane(endpoint_id: str, lane: int, lanes: int) -> QuerySet:
    """The lane's first attempts, oldest first."""
    rows = _first_attempts(endpoint_id)
    if lanes > 1:  # integer division in SQL, as ``lane_of``
        rows = rows.alias(lane=Mod(F("id") / LANE_BLOCK, lanes)).filter(lane=lane)
    return rows.order_by("id")


def _enqueue_send(delivery_id: int, token: str) -> None:
    try:
        enqueue("webhook_delivery_send", delivery_id, token)
    except Exception:  # broker down: the lease expires and Beat dispatches again
        logger.exception("Could not queue webhook delivery %s", delivery_id)


def enqueue_lane(endpoint_id: str, lane: int, token: str, ids: list[int]) -> None:
    """Queue a worker for a claimed lane batch (after commit)."""
    try:
        enqueue("webhook_lane_send", endpoint_id, lane, token, ids)
    except Exception:  # broker down: the lease expires and Beat dispatches again
        logger.exception("Could not queue webhook lane %s/%s", endpoint_id, lane)


def claim(delivery_ids: Iterable[int], *, now: datetime) -> int:
    """Lease the deliveries that are due and free; queue a send each after commit."""
    ids = list(delivery_ids)
    if not ids:
        return 0
    token = secrets.token_hex(16)
    rows = WebhookDelivery.objects.filter(
        _lease_free(now),
        Q(next_attempt_at__lte=now) | Q(attempt_count=0),
        pk__in=ids,
        status=PENDING,
    )
    taken = rows.update(lease_token=token, leased_until=now + LEASE, dispatched_at=now)
    if taken and len(ids) > 1:
        ids = list(
            WebhookDelivery.objects.filter(pk__in=ids, lease_token=token)
            .order_by("id")
            .values_list("id", flat=True)
        )
    for delivery_id in ids if taken else ():
        transaction.on_commit(
            lambda delivery_id=delivery_id: _enqueue_send(delivery_id, token)
        )
    return taken


def lane_claim(
    *, endpoint_id: str, lane: int, now: datetime, lanes: int | None = None
) -> tuple[str, list[int]] | None:
    """Lease the lane's next batch if nobody sends the lane; (token, ids) or None.

    The lane's head is locked first, so of two claims the second waits on the
    head, then sees the first's lease and takes nothing (SQLite takes its write
    lock up front instead). ``lanes``: the endpoint's lane count, if the caller
    has just read it.
    """
    if lanes is None:
        endpoint = (
            WebhookEndpoint.objects.filter(pk=endpoint_id)
            .only("id", "status", "failing_since")
            .first()
        )
        lanes = endpoint_lanes(endpoint) if endpoint is not None else 0
    if lane >= lanes:
        return None
    rows = _lane(endpoint_id, lane, lanes)
    with transaction.atomic():
        # Only the head is locked while looking: locking the batch's rows here
        # would deadlock with the worker taking over a batch the head leads.
        head = list(rows.select_for_update().values_list("leased_until", flat=True)[:1])
        if not head or (head[0] is not None and head[0] > now):
            return None  # empty, or being sent: its worker claims the next batch
        token = secrets.token_hex(16)
        size = settings.TALLY_WEBHOOK_BATCH_SIZE
        ids = list(rows.values_list("id", flat=True)[:size])
        batch = WebhookDelivery.objects.filter(pk__in=ids)
        taken = batch.filter(_lease_free(now)).update(
            lease_token=token, leased_until=now + LEASE, dispatched_at=now
        )
        if taken < len(ids):  # a few were leased one by one (failing before)
            ids = list(
                batch.filter(lease_token=token)
                .order_by("id")
                .values_list("id", flat=True)
            )
    return (token, ids) if ids else None


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


def release(delivery_ids: Iterable[int], *, lease_token: str) -> int:
    """Give up the lease on deliveries not sent after all (someone may take them)."""
    return WebhookDelivery.objects.filter(
        pk__in=list(delivery_ids), lease_token=lease_token
    ).update(lease_token="", leased_until=None, sending_since=None)


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, now: datetime) -> int:
    """Disable a (locked) endpoint and cancel its pending deliveries; returns those."""
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    endpoint.save(update_fields=["status", "disabled_reason", "disabled_at"])
    return cancel(
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=PENDING),
        now=now,
    )


def cancel(deliveries: QuerySet, *, now: datetime) -> int:
    return deliveries.update(
        status=WebhookDelivery.Status.CANCELED,
        next_attempt_at=None,
        completed_at=now,
    )


def deliveries_dispatch_due(*, now: datetime, batch: int = DUE_BATCH) -> int:
    """Dispatch due retries in id order; restart first attempts whose task was lost.

    The Beat job: safe to run twice or side by side (leases decide who sends).
    """
    due = (
        WebhookDelivery.objects.filter(
            _lease_free(now),
            status=PENDING,
            attempt_count__gt=0,
            next_attempt_at__lte=now,
            endpoint__status=ENABLED,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    dispatched, after = 0, 0
    while ids := list(due.filter(id__gt=after)[:batch]):
        dispatched += claim(ids, now=now)
        after = ids[-1]
    waiting = (
        WebhookDelivery.objects.filter(
            status=PENDING, attempt_count=0, endpoint__status=ENABLED
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    for endpoint_id in list(waiting):
        dispatched += dispatch_first_attempts(endpoint_id=endpoint_id, now=now)
    return dispatched


def fanout_reconcile(*, now: datetime, batch: int = 1000) -> int:
    """Fan out recent events that missed the after-commit hook (a crash between)."""
    reconciled = 0
    window_start = now - settings.TALLY_WEBHOOK_RETRY_FOR
    for endpoint in WebhookEndpoint.objects.filter(status=ENABLED):
        missing = Event.objects.filter(
            livemode=endpoint.livemode,
            created__gte=max(endpoint.enabled_at, window_start),
            created__lt=now - RECONCILE_SETTLE,
        ).exclude(
            Exists(
                WebhookDelivery.objects.filter(
                    endpoint_id=endpoint.pk, event_id=OuterRef("pk")
                )
            )
        )
        missing = missing.exclude(type__in=policy.EXPLICIT_ONLY_EVENT_TYPES)
        if policy.ALL_EVENTS not in endpoint.enabled_events:
            missing = missing.filter(type__in=endpoint.enabled_events)
        for event_id in missing.order_by("created", "id").values_list("id", flat=True)[
            :batch
        ]:
            reconciled += 1
            event_fanout(event_id=event_id, now=now)
    return reconciled

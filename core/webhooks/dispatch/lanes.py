"""Leases and lanes: which deliveries a worker may send, claimed by conditional
updates (one by one, or a lane's next batch), and the send tasks queued after commit.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Mod

from core.models import WebhookDelivery, WebhookEndpoint
from core.queue import enqueue

logger = logging.getLogger(__name__)


PENDING = WebhookDelivery.Status.PENDING


ENABLED = WebhookEndpoint.Status.ENABLED


# A lease outlives the send task's hard time limit: it is only ever taken over from
# a worker that is gone.
LEASE = timedelta(minutes=5)
# The most deliveries claimed at once by a dispatch run.
DUE_BATCH = 500


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
    return _healthy_lanes()


def _healthy_lanes() -> int:
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
    *,
    endpoint_id: str,
    lane: int,
    now: datetime,
    lanes: int | None = None,
    sending: bool = False,
) -> tuple[str, list[int]] | None:
    """Lease the lane's next batch if nobody sends the lane; (token, ids) or None.

    The lane's head is locked first, so of two claims the second waits on the
    head, then sees the first's lease and takes nothing (SQLite takes its write
    lock up front instead). ``lanes``: the endpoint's lane count, if the caller
    has just read it (otherwise: as for a healthy endpoint, which the claim
    checks). ``sending``: the caller sends the batch itself, now (no task takes
    it over: ``sending_since`` is set here).
    """
    if lanes is None:
        lanes = _healthy_lanes()
    if lane >= lanes:
        return None
    token = secrets.token_hex(16)
    fields = {"lease_token": token, "leased_until": now + LEASE, "dispatched_at": now}
    if sending:
        fields["sending_since"] = now
    claim = _claim_statement if connection.vendor == "postgresql" else _claim_locked
    ids = claim(endpoint_id, _lane(endpoint_id, lane, lanes), fields, now=now)
    return (token, sorted(ids)) if ids else None


def _healthy(endpoint_id: str) -> QuerySet:
    return WebhookEndpoint.objects.filter(
        pk=endpoint_id, status=ENABLED, failing_since__isnull=True
    )


def _claim_statement(endpoint_id, rows: QuerySet, fields: dict, *, now) -> list[int]:
    """The claim as one PostgreSQL statement (one round trip, not six)."""
    ctes, params = _claim_ctes(endpoint_id, rows, fields, now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} SELECT id FROM claimed", params)
        return [delivery_id for (delivery_id,) in cursor.fetchall()]


def _claim_ctes(
    endpoint_id, rows: QuerySet, fields: dict, *, now, only_if: tuple = ("", ())
) -> tuple[str, list]:
    """The claim's common table expressions: ``head``, then ``claimed`` (the ids).

    The head is locked (FOR UPDATE waits for another claim, then reads the row
    as it committed), and the batch's rows are updated only while still waiting
    and free: an UPDATE re-checks its own conditions on a row changed meanwhile.
    The batch's ids are read first (``ARRAY``), then its rows by primary key.
    ``only_if``: one more condition of the UPDATE, and its parameters.
    """
    head, head_params = _sql(rows.values("leased_until")[:1])
    size = settings.TALLY_WEBHOOK_BATCH_SIZE
    batch, batch_params = _sql(rows.values("id")[:size])
    healthy, healthy_params = _sql(_healthy(endpoint_id).values("id"))
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(name)} = %s" for name in fields)
    sql = (
        f"head AS ({head} FOR UPDATE), claimed AS (UPDATE {table} SET {sets} "
        f"WHERE id = ANY(ARRAY({batch})) AND status = %s AND attempt_count = 0 "
        "AND (leased_until IS NULL OR leased_until <= %s) "
        "AND EXISTS (SELECT 1 FROM head "
        "WHERE head.leased_until IS NULL OR head.leased_until <= %s) "
        f"AND EXISTS ({healthy}){only_if[0]} RETURNING id)"
    )
    params = [*head_params, *fields.values(), *batch_params, PENDING, now, now]
    return sql, [*params, *healthy_params, *only_if[1]]


def next_claim_ctes(
    *, endpoint_id: str, lane: int, now: datetime, after: list[int], only_if: tuple
) -> tuple[str, str, list]:
    """The claim of the lane's batch after ``after`` (being recorded in the same
    statement), as being sent: (token, CTEs ``head`` and ``claimed``, parameters).

    For PostgreSQL. The statement's snapshot is taken before it commits, so a
    claim that takes nothing proves nothing: then claim again (``lane_claim``).
    """
    token = secrets.token_hex(16)
    fields = {
        "lease_token": token,
        "leased_until": now + LEASE,
        "dispatched_at": now,
        "sending_since": now,
    }
    rows = _lane(endpoint_id, lane, _healthy_lanes()).exclude(pk__in=after)
    ctes, params = _claim_ctes(endpoint_id, rows, fields, now=now, only_if=only_if)
    return token, ctes, params


def _sql(queryset: QuerySet) -> tuple[str, tuple]:
    return queryset.query.sql_with_params()


def _claim_locked(endpoint_id, rows: QuerySet, fields: dict, *, now) -> list[int]:
    """The claim in a transaction: the head locked, then the batch leased."""
    with transaction.atomic():
        if not _healthy(endpoint_id).exists():
            return []
        # Only the head is locked while looking: locking the batch's rows here
        # would deadlock with the worker taking over a batch the head leads.
        head = list(rows.select_for_update().values_list("leased_until", flat=True)[:1])
        if not head or (head[0] is not None and head[0] > now):
            return []  # empty, or being sent: its worker claims the next batch
        size = settings.TALLY_WEBHOOK_BATCH_SIZE
        ids = list(rows.values_list("id", flat=True)[:size])
        batch = WebhookDelivery.objects.filter(pk__in=ids)
        waiting = batch.filter(_lease_free(now), status=PENDING, attempt_count=0)
        if waiting.update(**fields) < len(ids):
            # A few were leased one by one (failing before).
            token = fields["lease_token"]
            ids = list(batch.filter(lease_token=token).values_list("id", flat=True))
    return ids


def release(delivery_ids: Iterable[int], *, lease_token: str) -> int:
    """Give up the lease on deliveries not sent after all (someone may take them)."""
    return WebhookDelivery.objects.filter(
        pk__in=list(delivery_ids), lease_token=lease_token
    ).update(lease_token="", leased_until=None, sending_since=None)

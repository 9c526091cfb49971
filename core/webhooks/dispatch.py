"""The delivery engine: fan-out after commit, leases, attempts, the retry job.

Who sends what is decided by leases (conditional updates), not by holding locks:
a delivery is sent only by the worker whose token it carries. Keeping an
endpoint's first attempts in order needs a hand-over without lost wake-ups, done
the way two threads do it with flags: each side writes (and commits) before it
reads. The finish of a first attempt commits, then dispatches the oldest waiting
one; a start that finds an earlier event still waiting gives its lease back,
commits, then looks again and takes the lease back if that event has finished.
Fan-out commits its deliveries, then dispatches.

Row locks only serialise writes to one row: a delivery while it is started or
recorded, an endpoint while its failure streak is updated; a transaction that
needs both takes the endpoint first.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from core.models import Event, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from core.notifications import send_email_on_commit, staff_recipients
from core.webhooks import policy, signing, transport

logger = logging.getLogger(__name__)

PENDING = WebhookDelivery.Status.PENDING
ENABLED = WebhookEndpoint.Status.ENABLED
# A lease outlives the send task's hard time limit: it is only ever taken over from
# a worker that is gone.
LEASE = timedelta(minutes=5)
DUE_BATCH = 500
# The reconcile job leaves this long to the after-commit hook before stepping in.
RECONCILE_SETTLE = timedelta(minutes=1)


@dataclass(frozen=True)
class _Send:
    delivery_id: int
    endpoint_id: str
    event_id: str
    token: str
    url: str
    secrets: list[str]
    attempted_at: datetime
    first: bool
    endpoint: WebhookEndpoint  # as it was when the attempt started


def _lease_free(now: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def _first_attempts(endpoint_id) -> QuerySet:
    """Deliveries of the endpoint whose first attempt has not finished."""
    return WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=PENDING, attempt_count=0
    )


def _ordered(endpoint: WebhookEndpoint) -> bool:
    """Whether the endpoint's first attempts go one at a time, in order."""
    return settings.TALLY_WEBHOOK_ORDERED and endpoint.failing_since is None


def _enqueue(delivery_id: int, token: str) -> None:
    from core.tasks import webhook_delivery_send_task

    try:
        webhook_delivery_send_task.delay(delivery_id, token)
    except Exception:  # broker down: the lease expires and Beat dispatches again
        logger.exception("Could not queue webhook delivery %s", delivery_id)


def claim(delivery_ids: Iterable[int], *, now: datetime) -> int:
    """Lease the deliveries that are due and free; queue their sends after commit."""
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
            lambda delivery_id=delivery_id: _enqueue(delivery_id, token)
        )
    return taken


def event_fanout(*, event_id: str, now: datetime) -> int:
    """Create the event's deliveries to every enabled endpoint that wants it."""
    listening = list(
        WebhookEndpoint.objects.filter(status=ENABLED).values_list(
            "id", "enabled_events"
        )
    )
    if not listening:  # the common case costs one query
        return 0
    event = Event.objects.filter(pk=event_id).only("id", "type").first()
    if event is None:
        return 0
    endpoint_ids = [
        endpoint_id
        for endpoint_id, enabled_events in listening
        if policy.endpoint_wants(enabled_events, event.type)
    ]
    if not endpoint_ids:
        return 0
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=endpoint_id,
                event_id=event.id,
                created=now,
                next_attempt_at=now,
            )
            for endpoint_id in endpoint_ids
        ],
        ignore_conflicts=True,
    )
    # Committed (autocommit) before looking for what may start: see the top.
    return _dispatch_first_attempts(_enabled(endpoint_ids), now=now)


def dispatch_first_attempts(*, endpoint_id: str, now: datetime) -> int:
    """Dispatch the first attempts of an endpoint that may start now."""
    return _dispatch_first_attempts(_enabled([endpoint_id]), now=now)


def _enabled(endpoint_ids: list[str]) -> list[WebhookEndpoint]:
    return list(
        WebhookEndpoint.objects.filter(pk__in=endpoint_ids, status=ENABLED).only(
            "id", "failing_since"
        )
    )


def _dispatch_first_attempts(endpoints: list[WebhookEndpoint], *, now: datetime) -> int:
    """Claim the next first attempt of each ordered endpoint, all of the others.

    For an ordered endpoint that is its oldest waiting delivery, unless that one is
    already queued or being sent.
    """
    ordered = [endpoint.id for endpoint in endpoints if _ordered(endpoint)]
    side_by_side = [endpoint.id for endpoint in endpoints if not _ordered(endpoint)]
    ids: list[int] = []
    if ordered:
        heads = Q()
        for endpoint_id in ordered:  # one indexed LIMIT 1 per endpoint
            oldest = _first_attempts(endpoint_id).order_by("id").values("id")[:1]
            heads |= Q(pk=Subquery(oldest))
        ids += WebhookDelivery.objects.filter(heads, _lease_free(now)).values_list(
            "id", flat=True
        )
    if side_by_side:
        waiting = WebhookDelivery.objects.filter(
            _lease_free(now),
            endpoint_id__in=side_by_side,
            status=PENDING,
            attempt_count=0,
        )
        ids += waiting.order_by("id").values_list("id", flat=True)[:DUE_BATCH]
    return claim(ids, now=now)


def delivery_attempt(
    *, delivery_id: int, lease_token: str, now: datetime
) -> bool | None:
    """POST the delivery's event if the lease is still ours; None if not sent."""
    send = _start(delivery_id=delivery_id, token=lease_token, now=now)
    if send is None:
        return None
    event = Event.objects.filter(pk=send.event_id).first()
    if event is None:  # deleted meanwhile; the delivery went with it (cascade)
        return None
    body = signing.render_body(event)
    header = signing.signature_header(
        secrets=send.secrets, timestamp=int(now.timestamp()), body=body
    )
    outcome = transport.post(
        url=send.url, body=body, headers=signing.request_headers(signature_value=header)
    )
    _finish(send, outcome)
    return outcome.succeeded


def _start(*, delivery_id: int, token: str, now: datetime) -> _Send | None:
    """Turn a lease into a send: check the order, renew the lease."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != PENDING:
            return None
        if delivery.lease_token != token:
            return None
        endpoint = delivery.endpoint
        # A Beat run ahead of the wall clock (tests, catching up) sets the time.
        attempted_at = max(delivery.dispatched_at or now, now)
        rows = WebhookDelivery.objects.filter(pk=delivery.pk)
        if not endpoint.is_enabled:
            _cancel(rows, now=attempted_at)
            return None
        first = delivery.attempt_count == 0
        waiting = first and _ordered(endpoint) and _earlier_waiting(delivery)
        if waiting:
            rows.update(lease_token="", leased_until=None)
        else:
            token = secrets.token_hex(16)
            rows.update(
                lease_token=token,
                leased_until=attempted_at + LEASE,
                sending_since=attempted_at,
            )
    if waiting:
        # The earlier event's finish dispatches this one, unless it finished
        # between the look above and the release: look again, now released.
        if not _earlier_waiting(delivery):
            claim([delivery.pk], now=attempted_at)
        return None
    return _Send(
        delivery_id=delivery.pk,
        endpoint_id=endpoint.id,
        event_id=delivery.event_id,
        token=token,
        url=endpoint.url,
        secrets=signing.signing_secrets(endpoint, now=attempted_at),
        attempted_at=attempted_at,
        first=first,
        endpoint=endpoint,
    )


def _earlier_waiting(delivery: WebhookDelivery) -> bool:
    """Whether an earlier event to the same endpoint waits for its first attempt."""
    return _first_attempts(delivery.endpoint_id).filter(id__lt=delivery.id).exists()


def _finish(send: _Send, outcome: transport.Outcome) -> None:
    """Log the attempt, decide what comes next, dispatch the next event in line."""
    at = send.attempted_at
    with transaction.atomic():
        endpoint = None
        if not outcome.succeeded:  # its failure streak changes: lock it first
            endpoint = (
                WebhookEndpoint.objects.select_for_update()
                .filter(pk=send.endpoint_id)
                .first()
            )
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=send.delivery_id)
            .first()
        )
        if delivery is None:  # the endpoint was deleted meanwhile
            return
        _record_attempt(delivery, send=send, outcome=outcome)
        if endpoint is not None:
            _note_failure(endpoint, at=at, error=outcome.error)
    if outcome.succeeded and send.endpoint.failing_since is not None:
        WebhookEndpoint.objects.filter(
            pk=send.endpoint_id, failing_since__lte=at
        ).update(failing_since=None)
        send.endpoint.failing_since = None
    if send.first and outcome.succeeded:
        # Healthy, as far as this worker knows: no need to read it again.
        _dispatch_first_attempts([send.endpoint], now=at)
    elif send.first:
        dispatch_first_attempts(endpoint_id=send.endpoint_id, now=at)


def _record_attempt(
    delivery: WebhookDelivery, *, send: _Send, outcome: transport.Outcome
) -> None:
    """Append the attempt to the log and move the (locked) delivery on."""
    at = send.attempted_at
    number = delivery.attempt_count + 1
    WebhookDeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        attempted_at=at,
        succeeded=outcome.succeeded,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
    )
    delivery.attempt_count = number
    delivery.last_attempt_at = at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    # A lease taken over (only ever from a dead worker) is not ours to change.
    ours = delivery.lease_token == send.token
    if ours:
        delivery.lease_token, delivery.leased_until = "", None
        delivery.sending_since = None
    if outcome.succeeded:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.next_attempt_at = None
        delivery.completed_at = at
    elif ours and delivery.status == PENDING:
        first_at = at
        if number > 1:
            first_at = delivery.attempts.order_by("number")[0].attempted_at
        delivery.next_attempt_at = policy.next_attempt_at(
            first_at=first_at, attempted_at=at, failed_attempts=number
        )
        if delivery.next_attempt_at is None:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.completed_at = at
    delivery.save()


def _note_failure(endpoint: WebhookEndpoint, *, at: datetime, error: str) -> None:
    """Start or extend the failure streak; disable after a long enough one."""
    if endpoint.failing_since is None or endpoint.failing_since > at:
        endpoint.failing_since = at
        endpoint.save(update_fields=["failing_since"])
        return
    failing_for = at - endpoint.failing_since
    if endpoint.is_enabled and failing_for >= settings.TALLY_WEBHOOK_DISABLE_AFTER:
        canceled = endpoint_disable(
            endpoint=endpoint,
            reason=WebhookEndpoint.DisabledReason.FAILING,
            now=at,
        )
        logger.warning(
            "Disabled webhook endpoint %s (%s): failing since %s",
            endpoint.id,
            endpoint.url,
            endpoint.failing_since.isoformat(),
        )
        send_email_on_commit(
            to=staff_recipients(),
            template="core/email/webhook_endpoint_disabled",
            context={
                "endpoint": endpoint,
                "failing_since": endpoint.failing_since,
                "disabled_at": at,
                "last_error": error,
                "canceled": canceled,
            },
        )


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, now: datetime) -> int:
    """Disable a (locked) endpoint and cancel its pending deliveries; returns those."""
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    endpoint.save(update_fields=["status", "disabled_reason", "disabled_at"])
    return _cancel(
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=PENDING),
        now=now,
    )


def _cancel(deliveries: QuerySet, *, now: datetime) -> int:
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

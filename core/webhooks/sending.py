"""A worker sending leased deliveries: sign, POST, record, hand over.

A send task takes its deliveries over with one update (a fresh token, so a task
the broker hands out twice finds nothing left) and loads them with their events
and endpoint in one query. Each attempt is then one POST; the batch's successes
are written together when it ends, or before anything else is written about it
(``core.webhooks.recording``: one statement, each delivery conditional on the
lease). A failure takes the slower path that also locks the endpoint, to extend
its failure streak.

A lane task, after its batch, claims the lane's next batch itself (on PostgreSQL
in the statement that writes the batch's successes), until the lane
is empty or the task has worked for ``BATCH_BUDGET``; then it hands the batch it
holds to a new task, so one busy endpoint does not keep a worker for ever.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from core.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from core.notifications import send_email_on_commit, staff_recipients
from core.webhooks import dispatch, policy, signing, transport
from core.webhooks.recording import (
    Send,
    attempt_fields,
    streak_over,
    successes_record_then_claim,
)

logger = logging.getLogger(__name__)

PENDING = WebhookDelivery.Status.PENDING
# A lane task stops starting new attempts after this long (the send task's soft
# time limit leaves room for one more attempt at its longest).
BATCH_BUDGET = timedelta(seconds=20)


class _Clock:
    """The task's "now", read once at the edge, moved on as the batch takes time."""

    def __init__(self, now: datetime) -> None:
        self.start, self._started = now, time.monotonic()

    def elapsed(self) -> timedelta:
        return timedelta(seconds=time.monotonic() - self._started)

    def now(self) -> datetime:
        return self.start + self.elapsed()


def _take(ids: list[int], token: str, *, now: datetime, claimed: bool = False):
    """Make the leased deliveries ours under a new token; load them in id order.

    ``claimed``: this worker has just claimed them itself (no broker message
    can hand them to another): they are ours already.
    """
    taken = token
    if not claimed:
        taken = secrets.token_hex(16)
        WebhookDelivery.objects.filter(
            pk__in=ids, lease_token=token, status=PENDING
        ).update(
            lease_token=taken, leased_until=now + dispatch.LEASE, sending_since=now
        )
    pending = (
        WebhookDelivery.objects.filter(event_id=OuterRef("event_id"), status=PENDING)
        .order_by()
        .values("event_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    rows = list(
        WebhookDelivery.objects.filter(pk__in=ids, lease_token=taken)
        .select_related("endpoint", "event")
        .annotate(event_pending_webhooks=Coalesce(Subquery(pending), 0))
        .order_by("id")
    )
    for row in rows:  # Stripe's pending_webhooks, without a query per render
        row.event.pending_webhooks = row.event_pending_webhooks
    return taken, rows


def _post(row: WebhookDelivery, body: bytes, *, now: datetime) -> transport.Outcome:
    header = signing.signature_header(
        secrets=signing.signing_secrets(row.endpoint, now=now),
        timestamp=int(now.timestamp()),
        body=body,
    )
    return transport.post(
        url=row.endpoint.url,
        body=body,
        headers=signing.request_headers(signature_value=header),
    )


@dataclass
class _Batch:
    sent: int = 0
    finished: bool = True  # every delivery of the batch was attempted, all well
    last: Send | None = None  # the last attempt made
    succeeded: bool | None = None  # ... and its outcome
    # The lane's next batch, claimed (as being sent) when the successes were written.
    next: tuple[str, list[int]] | None = None


def _send_batch(
    ids: list[int],
    token: str,
    *,
    clock: _Clock,
    lane: int | None = None,
    deadline: timedelta | None = None,
    claimed: bool = False,
) -> _Batch:
    """Send the deliveries leased with ``token`` in id order; stop at a failure.

    Successes are written together (``recording``), before anything else is
    written about the batch and before it ends.
    """
    token, rows = _take(ids, token, now=clock.now(), claimed=claimed)
    bodies = signing.render_bodies([row.event for row in rows])
    batch = _Batch(finished=bool(rows))
    successes: list[tuple[Send, transport.Outcome]] = []
    for index, row in enumerate(rows):
        endpoint, now = row.endpoint, clock.now()
        if deadline is not None and index and clock.elapsed() >= deadline:
            if _recorded(successes, batch, rows[index:], token):
                rest = [later.pk for later in rows[index:]]
                dispatch.enqueue_lane(endpoint.id, lane, token, rest)  # still leased
            batch.finished = False
            return batch
        if not endpoint.is_enabled:
            dispatch.cancel(WebhookDelivery.objects.filter(pk=row.pk), now=now)
            continue
        if (
            row.attempt_count == 0
            and lane is None
            and dispatch.endpoint_lanes(endpoint)
        ):
            # A first attempt leased on its own while the endpoint was failing:
            # it goes back in line, its lane sends it in order.
            dispatch.release([row.pk], lease_token=token)
            dispatch.dispatch_first_attempts(endpoint_id=endpoint.id, now=now)
            continue
        send = Send(
            delivery_id=row.pk,
            endpoint=endpoint,
            token=token,
            # A Beat run ahead of the wall clock (tests, catching up) sets the time.
            attempted_at=max(row.dispatched_at or now, now),
            attempt_count=row.attempt_count,
        )
        outcome = _post(row, bodies[index], now=now)
        batch.sent += 1
        batch.last, batch.succeeded = send, outcome.succeeded
        if outcome.succeeded:
            successes.append((send, outcome))
            continue
        _recorded(successes, batch, rows[index + 1 :], token)  # theirs come first
        _finish(send, outcome)
        _release(rows[index + 1 :], token)
        if send.first:  # failing now: the waiting first attempts go side by side
            dispatch.dispatch_first_attempts(endpoint_id=endpoint.id, now=now)
        batch.finished = False
        return batch
    claim = None
    if lane is not None and successes:
        claim = _next_claim(rows[0].endpoint_id, lane, successes, clock, deadline)
    _recorded(successes, batch, [], token, claim=claim)
    return batch


def _next_claim(endpoint_id: str, lane: int, successes, clock: _Clock, deadline):
    """The lane's next batch, claimed as being sent by the statement that writes
    the successes (one round trip less per batch); None once time is up."""
    if deadline is not None and clock.elapsed() >= deadline:
        return None
    now, after = clock.now(), [send.delivery_id for send, _ in successes]

    def claim(only_if):
        return dispatch.next_claim_ctes(
            endpoint_id=endpoint_id, lane=lane, now=now, after=after, only_if=only_if
        )

    return claim


def _recorded(successes, batch: _Batch, rest: list, token: str, claim=None) -> bool:
    """Write the batch's successes so far; False if a lease was lost meanwhile.

    Then the lost ones' attempts are logged the slow way, and the rest of the
    batch is given up (its lease is not ours either, or not for long).
    ``claim``: claim the lane's next batch in the same statement
    (``recording.successes_record_then_claim``), into ``batch.next``.
    """
    lost, batch.next = successes_record_then_claim(successes, claim)
    successes.clear()
    for send, outcome in lost:
        _finish(send, outcome)
    if lost:
        _release(rest, token)
        batch.finished = False
    return not lost


def _release(rows: list, token: str) -> None:
    if rows:
        dispatch.release([row.pk for row in rows], lease_token=token)


def delivery_attempt(
    *, delivery_id: int, lease_token: str, now: datetime
) -> bool | None:
    """POST one leased delivery (a retry, a resend, a failing endpoint's event).

    Returns whether it succeeded; None if it was not sent (not ours any more).
    """
    batch = _send_batch([delivery_id], lease_token, clock=_Clock(now))
    if batch.last is None:
        return None
    if batch.succeeded and batch.last.first:
        # The endpoint is healthy again: what waits goes in its lanes now.
        dispatch.dispatch_first_attempts(
            endpoint_id=batch.last.endpoint.pk, now=batch.last.attempted_at
        )
    return batch.succeeded


def lane_send(
    *,
    endpoint_id: str,
    lane: int,
    lease_token: str,
    delivery_ids: list[int],
    now: datetime,
) -> int:
    """Send a lane's claimed batch, then its next ones, within ``BATCH_BUDGET``."""
    clock = _Clock(now)
    sent, token, ids, claimed = 0, lease_token, delivery_ids, False
    while True:
        batch = _send_batch(
            ids, token, clock=clock, lane=lane, deadline=BATCH_BUDGET, claimed=claimed
        )
        sent += batch.sent
        if not batch.finished:
            return sent
        if batch.next is not None:  # claimed as being sent while recording
            (token, ids), claimed = batch.next, True
            continue
        # Claimed as being sent by this worker, unless its time is up: then a
        # new task takes the batch over.
        claimed = clock.elapsed() < BATCH_BUDGET
        next_batch = dispatch.lane_claim(
            endpoint_id=endpoint_id, lane=lane, now=clock.now(), sending=claimed
        )
        if next_batch is None:
            return sent
        token, ids = next_batch
        if not claimed:
            dispatch.enqueue_lane(endpoint_id, lane, token, ids)
            return sent


# ---- failures ---------------------------------------------------------------------


def _finish(send: Send, outcome: transport.Outcome) -> None:
    """Log the attempt and decide what comes next, the endpoint locked first."""
    at = send.attempted_at
    with transaction.atomic():
        endpoint = None
        if not outcome.succeeded:  # its failure streak changes: lock it first
            endpoint = (
                WebhookEndpoint.objects.select_for_update()
                .filter(pk=send.endpoint.pk)
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
            send.endpoint.failing_since = endpoint.failing_since
    if outcome.succeeded and send.endpoint.failing_since is not None:
        streak_over(send.endpoint, at=at)


def _record_attempt(
    delivery: WebhookDelivery, *, send: Send, outcome: transport.Outcome
) -> None:
    """Append the attempt to the log and move the (locked) delivery on."""
    at = send.attempted_at
    number = delivery.attempt_count + 1
    WebhookDeliveryAttempt.objects.create(
        delivery=delivery, number=number, **attempt_fields(at, outcome)
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
        canceled = dispatch.endpoint_disable(
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

"""Recording successful attempts, several at once.

A lane worker POSTs its batch one delivery after the other and keeps the
successes; they are written together (``successes_record``): on PostgreSQL one
statement marks every delivery succeeded, each conditional on the worker's lease,
and logs its attempt, whatever the batch's size. A delivery whose lease was taken
over meanwhile (only ever from a worker gone for ``dispatch.LEASE``) is not
written; the caller logs its attempt the slow way.

The price of writing later: a worker killed between a POST and the write leaves
its deliveries leased, and they are sent again when the lease expires (receivers
get a webhook at least once, as from Stripe; the attempt log records each once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from core.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from core.webhooks import transport

PENDING = WebhookDelivery.Status.PENDING


@dataclass(frozen=True)
class Send:
    delivery_id: int
    endpoint: WebhookEndpoint  # as it was when the batch was taken
    token: str
    attempted_at: datetime
    attempt_count: int  # attempts finished before this one

    @property
    def first(self) -> bool:
        return self.attempt_count == 0


def attempt_fields(at: datetime, outcome: transport.Outcome) -> dict:
    return {
        "attempted_at": at,
        "succeeded": outcome.succeeded,
        "status_code": outcome.status_code,
        "duration_ms": outcome.duration_ms,
        "response_excerpt": outcome.excerpt,
        "error": outcome.error,
    }


def _succeeded_fields(at: datetime, outcome: transport.Outcome, number: int) -> dict:
    return {
        "status": WebhookDelivery.Status.SUCCEEDED,
        "attempt_count": number,
        "last_attempt_at": at,
        "last_status_code": outcome.status_code,
        "last_error": "",
        "next_attempt_at": None,
        "completed_at": at,
        "lease_token": "",
        "leased_until": None,
        "sending_since": None,
    }


def successes_record(
    successes: list[tuple[Send, transport.Outcome]],
) -> list[tuple[Send, transport.Outcome]]:
    """Mark the deliveries succeeded and log their attempts, where the lease is ours.

    Atomic; returns the successes that were not written (lease lost).
    """
    return successes_record_then_claim(successes)[0]


def successes_record_then_claim(
    successes: list[tuple[Send, transport.Outcome]],
    claim: Callable[[tuple], tuple[str, str, list]] | None = None,
) -> tuple[list[tuple[Send, transport.Outcome]], tuple[str, list[int]] | None]:
    """``successes_record``, and on PostgreSQL the lane's next batch claimed in the
    same statement: (the successes not written, (token, ids) claimed or None).

    ``claim(only_if)``: (token, CTEs, parameters) of the claim (``dispatch.
    next_claim_ctes``). It claims only if every success was written; None also
    when the lane looked empty (claim again: see ``dispatch.next_claim_ctes``).
    """
    if not successes:
        return [], None
    claimed = None
    if connection.vendor == "postgresql":
        then = None
        if claim is not None:
            token, ctes, params = claim((ALL_WRITTEN, (len(successes),)))
            then = (ctes, params)
        recorded, ids = _record_statement(successes, then)
        if ids:
            claimed = (token, ids)
    else:
        recorded = set()
        with transaction.atomic():
            for send, outcome in successes:
                number = send.attempt_count + 1
                fields = _succeeded_fields(send.attempted_at, outcome, number)
                if _ours(send).update(**fields):
                    WebhookDeliveryAttempt.objects.create(
                        delivery_id=send.delivery_id,
                        number=number,
                        **attempt_fields(send.attempted_at, outcome),
                    )
                    recorded.add(send.delivery_id)
    if recorded:
        _streak_over(successes, recorded)
    lost = [entry for entry in successes if entry[0].delivery_id not in recorded]
    return lost, claimed


def _ours(send: Send):
    return WebhookDelivery.objects.filter(
        pk=send.delivery_id, lease_token=send.token, status=PENDING
    )


def _record_statement(
    successes: list[tuple[Send, transport.Outcome]],
    then: tuple[str, list] | None = None,
) -> tuple[set[int], list[int]]:
    """The UPDATEs and INSERTs as one PostgreSQL statement: (the ids written, the
    ids ``then`` claimed).

    ``then``: the CTEs ``head`` and ``claimed`` of a lane claim (``dispatch.
    next_claim_ctes``), made with ``ALL_WRITTEN`` as their condition: they lease
    the lane's next batch in the same statement, if every success was written.
    """
    quote = connection.ops.quote_name
    deliveries = quote(WebhookDelivery._meta.db_table)
    attempts = quote(WebhookDeliveryAttempt._meta.db_table)
    row = (
        "(%s::bigint, %s::text, %s::integer, %s::timestamptz,"
        " %s::integer, %s::integer, %s::text)"
    )
    values, params = [], []
    for send, outcome in successes:
        values.append(row)
        params += [
            send.delivery_id,
            send.token,
            send.attempt_count + 1,
            send.attempted_at,
            outcome.status_code,
            outcome.duration_ms,
            outcome.excerpt,
        ]
    sql = (
        "WITH v (id, token, number, at, status_code, duration_ms, excerpt) AS "
        f"(VALUES {', '.join(values)}), "
        f"done AS (UPDATE {deliveries} d SET status = %s, attempt_count = v.number, "
        "last_attempt_at = v.at, last_status_code = v.status_code, last_error = '', "
        "next_attempt_at = NULL, completed_at = v.at, lease_token = '', "
        "leased_until = NULL, sending_since = NULL "
        "FROM v WHERE d.id = v.id AND d.lease_token = v.token AND d.status = %s "
        "RETURNING d.id), "
        f"logged AS (INSERT INTO {attempts} (delivery_id, number, attempted_at, "
        "succeeded, status_code, duration_ms, response_excerpt, error) "
        "SELECT v.id, v.number, v.at, TRUE, v.status_code, v.duration_ms, "
        "v.excerpt, '' FROM v JOIN done ON done.id = v.id RETURNING delivery_id)"
    )
    params += [WebhookDelivery.Status.SUCCEEDED, PENDING]
    select = "SELECT delivery_id, FALSE FROM logged"
    if then is not None:
        sql += f", {then[0]}"
        params += then[1]
        select += " UNION ALL SELECT id, TRUE FROM claimed"
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} {select}", params)
        rows = cursor.fetchall()
    written = {delivery_id for delivery_id, claimed in rows if not claimed}
    return written, sorted(delivery_id for delivery_id, claimed in rows if claimed)


# The condition of a claim made in the recording statement (``then``): every
# success was written, so the lane's head is the first delivery after them.
ALL_WRITTEN = " AND (SELECT count(*) FROM done) = %s"


def _streak_over(successes, recorded: set[int]) -> None:
    """A success ends the failure streak (unless a later failure started one)."""
    ended = set()
    for send, _ in reversed(successes):  # the latest success of each endpoint
        endpoint = send.endpoint
        if (
            send.delivery_id in recorded
            and endpoint.failing_since is not None
            and endpoint.pk not in ended
        ):
            ended.add(endpoint.pk)
            streak_over(endpoint, at=send.attempted_at)


def streak_over(endpoint: WebhookEndpoint, *, at: datetime) -> None:
    """End the endpoint's failure streak, unless a failure after ``at`` started it."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__lte=at).update(
        failing_since=None
    )
    endpoint.failing_since = None

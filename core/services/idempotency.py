"""Idempotency keys: the first response to a POST is stored and replayed.

A key is claimed in its own short transaction (a unique constraint decides who wins),
so a concurrent duplicate sees ``in_progress`` and gets a 409 it may retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from core.errors import Conflict, IdempotencyError
from core.models import ApiKey, IdempotencyKey

# A claim older than this belongs to a request that died; a retry may take it over.
_STALE_CLAIM = timedelta(seconds=60)


@dataclass(frozen=True)
class Begun:
    record: IdempotencyKey | None = None
    replay: IdempotencyKey | None = None


def _claim(*, api_key: ApiKey, key: str, fingerprint: str, request_id: str, now):
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                api_key=api_key,
                key=key,
                fingerprint=fingerprint,
                status=IdempotencyKey.Status.IN_PROGRESS,
                request_id=request_id,
                created=now,
            )
    except IntegrityError:
        return None


def idempotency_begin(
    *, api_key: ApiKey, key: str, fingerprint: str, request_id: str, now: datetime
) -> Begun:
    """Claim ``key`` for this request, or return the stored response to replay."""
    claim_args = dict(
        api_key=api_key,
        key=key,
        fingerprint=fingerprint,
        request_id=request_id,
        now=now,
    )
    record = _claim(**claim_args)
    if record is not None:
        return Begun(record=record)
    existing = IdempotencyKey.objects.filter(api_key=api_key, key=key).first()
    if existing is None or existing.created < now - settings.TALLY_IDEMPOTENCY_TTL:
        # Expired (or deleted meanwhile): the key is free for a new request.
        IdempotencyKey.objects.filter(api_key=api_key, key=key).delete()
        record = _claim(**claim_args)
        if record is not None:
            return Begun(record=record)
        existing = IdempotencyKey.objects.get(api_key=api_key, key=key)
    if existing.fingerprint != fingerprint:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters "
            f"they were first used with. Try using a key other than '{key}' if you "
            "meant to execute a different request.",
            param="Idempotency-Key",
        )
    if existing.status == IdempotencyKey.Status.DONE:
        return Begun(replay=existing)
    taken_over = IdempotencyKey.objects.filter(
        pk=existing.pk,
        status=IdempotencyKey.Status.IN_PROGRESS,
        created__lt=now - _STALE_CLAIM,
    ).update(created=now, request_id=request_id)
    if taken_over:
        existing.refresh_from_db()
        return Begun(record=existing)
    raise Conflict(
        "There is currently another in-progress request using this Idempotency-Key "
        "(that probably means you submitted twice, and the other request is still "
        "going through). Please try again later.",
        code="idempotency_key_in_use",
    )


def _should_store(status: int, error_code: str | None) -> bool:
    """Store successes and definitive refusals; let retries re-run everything else.

    Not stored: failed parameter validation (the client will fix and resend), 401,
    409 and 5xx (nothing was written; a retry must execute for real).
    """
    if status < 400:
        return True
    if status in (401, 409, 429) or status >= 500:
        return False
    return not (error_code or "").startswith(("parameter_", "idempotency"))


def idempotency_finish(
    *, record: IdempotencyKey, status: int, body: bytes, error_code: str | None
) -> None:
    """Store the response for replay, or release the key."""
    if not _should_store(status, error_code):
        IdempotencyKey.objects.filter(pk=record.pk).delete()
        return
    IdempotencyKey.objects.filter(pk=record.pk).update(
        status=IdempotencyKey.Status.DONE, response_status=status, response_body=body
    )


def idempotency_keys_prune(*, now: datetime) -> int:
    """Delete records past the retention window; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(
        created__lt=now - settings.TALLY_IDEMPOTENCY_TTL
    ).delete()
    return deleted

"""Meter event ingestion: validate synchronously, append, fold into rollups.

Every path (v1, v2, the v2 stream, bulk import, the dashboard's test event) goes
through ``meter_events_ingest_batch``; ``meter_event_create`` is its one-event form,
``meter_event_create_or_replay`` the form that answers a retry. The rules live in
``metering.services.validation``; a batch of plain events takes its fast loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from core import modes
from core.errors import IdempotencyError, InvalidRequest, TallyError
from metering import errors, signals, storage
from metering.dimensions import dimension_sets_store
from metering.models import Meter, MeterEvent
from metering.services.validation import (
    EventInput,
    Lookups,
    event_key,
    plain_document_rows,
    plain_rows,
    same_event,
    validate,
)
from metering.storage import EventRow

__all__ = [
    "BatchResult",
    "StoredCount",
    "EventInput",
    "meter_event_create",
    "meter_event_create_or_replay",
    "meter_events_ingest_batch",
    "meter_events_documents_validate",
    "meter_events_ingest_documents",
    "meter_events_plain_store",
    "PlainBatch",
]


@dataclass
class BatchResult:
    """Outcome of a batch: positions (0-based) of duplicates and of refused events."""

    accepted: int = 0
    duplicates: list[int] = field(default_factory=list)
    errors: list[tuple[int, TallyError]] = field(default_factory=list)
    rows: list[EventRow] = field(default_factory=list)
    event_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    meters: dict[str, Meter] = field(default_factory=dict)


def meter_events_ingest_batch(
    *,
    events: Sequence[EventInput],
    now: datetime,
    livemode: bool | None = None,
    all_or_nothing: bool = False,
    sync_commit: bool = True,
    request_key: str | None = None,
) -> BatchResult:
    """Validate and record many events in one transaction.

    Refused events are reported by position and the rest are recorded, unless
    ``all_or_nothing``: then the first refusal is raised (its ``param`` under
    ``events[i]``) and nothing is written. Events already stored, or repeated within
    the batch, are reported as duplicates and counted once. ``sync_commit=False``
    is for callers that can redo a lost batch (``storage.events_write``);
    ``request_key`` is stored with the events (``MeterEvent.request_key``).
    """
    livemode = modes.default_livemode() if livemode is None else livemode
    lookups = Lookups(events, now, livemode=livemode)
    result = BatchResult(meters=_meters(lookups))
    rows = plain_rows(events, lookups, livemode)
    if rows is not None and len(set(map(event_key, rows))) == len(rows):
        result.rows = rows
        return _write(result, range(len(rows)), sync_commit, request_key, lookups)
    seen: set[tuple[str, str]] = set()
    positions: list[int] = []
    for position, event in enumerate(events):
        try:
            row = validate(event, lookups, livemode)
        except InvalidRequest as error:
            if all_or_nothing:
                raise errors.with_prefix(error, f"events[{position}]") from None
            result.errors.append((position, error))
            continue
        key = (row.event_name, row.identifier)
        if key in seen:
            result.duplicates.append(position)
            continue
        seen.add(key)
        result.rows.append(row)
        positions.append(position)
    return _write(result, positions, sync_commit, request_key, lookups)


class StoredCount(NamedTuple):
    """How many events of a batch were new, and how many were stored already."""

    accepted: int
    duplicates: int


class PlainBatch(NamedTuple):
    """Plain events validated and made into rows, ready to store: the rows, and the
    dimension sets they name that may be new (``Lookups.new_sets``)."""

    rows: list[EventRow]
    new_sets: dict[int, tuple[str, dict[str, str]]]


def meter_events_ingest_documents(
    *,
    documents: Sequence[Any],
    now: datetime,
    unix_seconds: bool,
    livemode: bool | None = None,
    sync_commit: bool = True,
) -> StoredCount | None:
    """Validate and record JSON documents in one transaction, if all are plain.

    The fast path of bulk import (timestamps in ``unix_seconds``) and of the v2
    stream (RFC 3339): None, with nothing written, when some document is not a
    plain event (``plain_document_rows``) or two share an identifier; the caller
    then takes ``meter_events_ingest_batch``, which explains every refusal.
    """
    batch = meter_events_documents_validate(
        documents=documents, now=now, unix_seconds=unix_seconds, livemode=livemode
    )
    if batch is None:
        return None
    return meter_events_plain_store(batch, sync_commit=sync_commit)


def meter_events_documents_validate(
    *,
    documents: Sequence[Any],
    now: datetime,
    unix_seconds: bool,
    livemode: bool | None = None,
) -> PlainBatch | None:
    """The first half of ``meter_events_ingest_documents``: reads only, writes
    nothing, so that bulk import can validate a chunk while it stores the one
    before (``meter_events_plain_store``)."""
    livemode = modes.default_livemode() if livemode is None else livemode
    lookups = Lookups.of_documents(documents, now, livemode=livemode)
    rows = plain_document_rows(documents, lookups, livemode, unix_seconds=unix_seconds)
    if rows is None or len(set(map(event_key, rows))) != len(rows):
        return None
    return PlainBatch(rows, lookups.new_sets if lookups.set_ids else {})


def meter_events_plain_store(
    batch: PlainBatch, *, sync_commit: bool = True
) -> StoredCount:
    """The second half of ``meter_events_ingest_documents``: store a validated
    batch (its dimension sets first, idempotently) and note the new usage."""
    if batch.new_sets:
        dimension_sets_store(batch.new_sets)
    accepted = storage.events_store(batch.rows, sync_commit=sync_commit)
    if accepted:
        signals.usage_recorded_on_commit()
    return StoredCount(accepted, len(batch.rows) - accepted)


def _meters(lookups: Lookups) -> dict[str, Meter]:
    return {meter.id: meter for group in lookups.meters.values() for meter in group}


def _write(
    result: BatchResult,
    positions: Sequence[int],
    sync_commit: bool,
    request_key: str | None,
    lookups: Lookups,
) -> BatchResult:
    """Store the batch's rows (at ``positions`` of the batch); note duplicates.

    The rows of the dimension sets they name go first (idempotent).
    """
    if not result.rows:
        return result
    if lookups.set_ids:
        dimension_sets_store(lookups.new_sets)
    if request_key is not None:
        result.rows = [row._replace(request_key=request_key) for row in result.rows]
    result.event_ids = storage.events_write(result.rows, sync_commit=sync_commit)
    if len(result.event_ids) < len(result.rows):
        for position, row in zip(positions, result.rows, strict=True):
            if (row.event_name, row.identifier) not in result.event_ids:
                result.duplicates.append(position)
        result.duplicates.sort()
    result.accepted = len(result.event_ids)
    if result.accepted:
        signals.usage_recorded_on_commit()
    return result


def meter_event_create(
    *,
    event_name: Any,
    payload: Any,
    identifier: Any = None,
    timestamp: datetime | None = None,
    now: datetime,
    livemode: bool | None = None,
    request_key: str | None = None,
) -> MeterEvent:
    """Validate and record one event; a known identifier is a duplicate (400)."""
    event = EventInput(
        event_name=event_name,
        payload=payload,
        identifier=identifier,
        timestamp=timestamp,
    )
    result = meter_events_ingest_batch(
        events=[event], now=now, livemode=livemode, request_key=request_key
    )
    if result.errors:
        raise result.errors[0][1]
    row = result.rows[0]
    if result.duplicates:
        raise errors.MeterEventError(
            f"An event with identifier '{row.identifier}' was already recorded for "
            f"event_name '{row.event_name}'.",
            param="identifier",
            code=errors.DUPLICATE,
        )
    return MeterEvent(
        id=result.event_ids[(row.event_name, row.identifier)],
        meter=result.meters[row.meter_id],
        customer_id=row.customer_id,
        event_name=row.event_name,
        identifier=row.identifier,
        value=row.value,
        timestamp=row.timestamp,
        created=row.created,
        livemode=row.livemode,
        dimensions=row.dimensions,
        request_key=row.request_key,
        dimension_set=row.dimension_set,
    )


def meter_event_create_or_replay(
    *,
    event_name: Any,
    payload: Any,
    identifier: str,
    timestamp: datetime | None = None,
    now: datetime,
    livemode: bool | None = None,
    request_key: str,
) -> tuple[MeterEvent, bool]:
    """``meter_event_create`` for a request that may retry one made with the same
    ``request_key`` (an Idempotency-Key): that request's event is returned, with
    True (a replay), instead of the duplicate error.

    The same key with another event is an ``idempotency_error``; another key with
    a stored identifier stays a duplicate.
    """
    try:
        event = meter_event_create(
            event_name=event_name,
            payload=payload,
            identifier=identifier,
            timestamp=timestamp,
            now=now,
            livemode=livemode,
            request_key=request_key,
        )
    except errors.MeterEventError as error:
        if error.code != errors.DUPLICATE:
            raise
        stored = storage.events_with_identifier(
            MeterEvent.objects.select_related("meter").filter(
                livemode=modes.default_livemode() if livemode is None else livemode
            ),
            event_name=event_name,
            identifier=identifier,
        ).first()
        if stored is None or stored.request_key != request_key:
            raise
        if not same_event(stored, payload, timestamp):
            raise IdempotencyError(
                "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with.",
                param="Idempotency-Key",
            ) from None
        return stored, True
    return event, False

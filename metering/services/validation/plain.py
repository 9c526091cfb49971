"""The hot loop of bulk import and the v2 stream: a batch of plain events, or plain
JSON documents, made into rows in a few cheap checks each (``plain_rows``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from metering.services.validation.lookups import (
    MAX_IDENTIFIER,
    MAX_SIGNIFICANT_DIGITS,
    EventInput,
    Lookups,
)
from metering.storage import EventRow

# An EventRow of a tuple of all its fields, without NamedTuple's Python-level __new__.
new_row = functools.partial(tuple.__new__, EventRow)
# The fields of a JSON document that bulk import and the v2 stream read as an event.
DOCUMENT_FIELDS = frozenset({"event_name", "payload", "identifier", "timestamp"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_from_unix = datetime.fromtimestamp
_from_iso = datetime.fromisoformat


def plain_rows(
    events: Sequence[EventInput], lookups: Lookups, livemode: bool
) -> list[EventRow] | None:
    """The rows of a batch of plain events, or None if some event is not plain.

    Plain is how nearly every event arrives: an active meter's event name, a
    payload of just the meter's customer and value keys, a known customer, a value
    of at most 15 ASCII digits, an identifier of 1 to 100 characters, and a UTC
    timestamp in the window, or none. ``validate`` makes the same row of each
    (tests hold the two to it), and explains or refuses any other event; this loop
    is only faster, which bulk import needs.
    """
    return _plain(events, lookups.windows, lookups, livemode, _DATETIME)


def plain_document_rows(
    documents: Sequence[Any], lookups: Lookups, livemode: bool, *, unix_seconds: bool
) -> list[EventRow] | None:
    """``plain_rows`` of events as JSON documents, or None.

    A plain document has only ``DOCUMENT_FIELDS``, an identifier, and a timestamp
    that is whole unix seconds (bulk import: ``unix_seconds``) or RFC 3339 in UTC
    (the v2 API), or none. Going straight from the documents to the rows, without
    an ``EventInput`` between, is a good part of what makes these paths fast.
    """
    for document in documents:
        if type(document) is not dict or not document.keys() <= DOCUMENT_FIELDS:
            return None
    fields = (
        (
            document.get("event_name"),
            document.get("payload"),
            document.get("identifier"),
            document.get("timestamp"),
        )
        for document in documents
    )
    if not unix_seconds:
        return _plain(fields, lookups.windows, lookups, livemode, _RFC3339)
    # Each customer's window in whole unix seconds: [earliest, latest].
    seconds = {
        moment: (moment, *_unix_window(earliest, latest))
        for moment, earliest, latest in set(lookups.windows.values())
    }
    windows = {
        customer: seconds[now] for customer, (now, _, _) in lookups.windows.items()
    }
    return _plain(fields, windows, lookups, livemode, _UNIX_SECONDS)


# How ``_plain`` reads timestamps: parsed datetimes, unix seconds, RFC 3339 text.
_DATETIME, _UNIX_SECONDS, _RFC3339 = range(3)


def _plain(events, windows, lookups: Lookups, livemode: bool, stamps: int):
    """The loop of ``plain_rows``: ``events`` are (event name, payload, identifier,
    timestamp) tuples, timestamps of the kind ``stamps``, and ``windows`` each
    customer's (now, earliest, latest) in that kind (unix seconds: whole seconds).
    The kinds are branches, not functions: a call per event costs too much here."""
    active = lookups.active
    rows: list[EventRow] = []
    append = rows.append
    # Events of a batch share values and seconds: each is made once (both immutable).
    # Bulk import's values are ints (exact: at most 15 digits), which its COPY and
    # its fold take at a fraction of a Decimal's cost (``metering.storage.copy``).
    values: dict[str, Decimal | int] = {}
    moments: dict[int, datetime] = {}
    set_ids = lookups.set_ids
    for event_name, payload, identifier, stamp in events:
        meter = active.get(event_name) if type(event_name) is str else None
        if meter is None or type(payload) is not dict:
            return None
        declared = meter.dimension_payload_keys
        if not declared:
            if len(payload) != 2:
                return None
            set_id = 0
        else:
            # Only declared keys besides the customer and value, string values.
            # The usual event names them all: one C-level pass; else count them.
            named = tuple(map(payload.get, declared))
            if len(payload) != len(declared) + 2 or None in named:
                named = tuple([payload.get(key, "") for key in declared])
                if len(payload) - 2 != sum([key in payload for key in declared]):
                    return None
            set_id = set_ids.get((meter.id, named))
            if set_id is None:
                if not _plain_values(named):
                    return None
                set_id = lookups.dimension_set(meter.id, named)
        customer_id = payload.get(meter.customer_payload_key)
        raw = payload.get(meter.value_payload_key)
        if type(customer_id) is not str or type(raw) is not str:
            return None
        window = windows.get(customer_id)
        if (
            window is None
            or not 0 < len(raw) <= MAX_SIGNIFICANT_DIGITS
            or not raw.isdigit()
            or not raw.isascii()
            or type(identifier) is not str
            or not 0 < len(identifier) <= MAX_IDENTIFIER
            or "\x00" in identifier
        ):
            return None
        if stamp is None:
            timestamp = window[0]
        elif stamps == _UNIX_SECONDS:
            if type(stamp) is not int or not window[1] <= stamp <= window[2]:
                return None
            timestamp = moments.get(stamp)
            if timestamp is None:
                timestamp = moments[stamp] = _from_unix(stamp, UTC)
        else:
            timestamp = stamp if stamps == _DATETIME else _rfc3339(stamp)
            if (
                timestamp is None
                or timestamp.tzinfo is not UTC
                or not window[1] <= timestamp <= window[2]
            ):
                return None
        value = values.get(raw)
        if value is None:
            value = values[raw] = int(raw) if stamps == _UNIX_SECONDS else Decimal(raw)
        append(
            new_row(
                (
                    meter.id,
                    customer_id,
                    event_name,
                    identifier,
                    value,
                    timestamp,
                    window[0],
                    livemode,
                    None,
                    None,
                    set_id,
                )
            )
        )
    return rows


def _plain_values(values: tuple) -> bool:
    """Whether dimension values are strings without a NUL (else ``validate``)."""
    return all(type(value) is str and "\x00" not in value for value in values)


def _rfc3339(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with a ``T`` (``2024-06-01T12:00:00.000Z``), or None."""
    if type(value) is not str or "T" not in value:
        return None
    try:
        return _from_iso(value)
    except ValueError:
        return None


def _unix_window(earliest: datetime, latest: datetime) -> tuple[int, int]:
    """The whole unix seconds in [earliest, latest], as bounds (exact arithmetic)."""
    return -((_EPOCH - earliest) // _SECOND), (latest - _EPOCH) // _SECOND

"""The rules of a meter event (DESIGN.md "Metering"), checked synchronously.

An active meter for ``event_name``; the customer named by the meter's customer
payload key exists; the value (under the meter's value key) is a whole number of at
most 15 significant digits, negative allowed; the timestamp lies within the 35 days
before and 5 minutes after the customer's "now" (its test clock's frozen time, if
any), defaulting to that "now"; the identifier is at most 100 characters, generated
when absent (its novelty is the storage's unique key to decide).

``validate`` checks one event; each refusal is explained by a ``_refuse_*`` function
off its path. ``plain_rows`` is the hot loop of bulk import (100,000 events/s is the
goal): a batch of plain events, the usual kind, in a few cheap checks each.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, NoReturn

from core.numbers import plain_digits
from metering import errors
from metering import lookups as lookups_cache
from metering.models import Meter, MeterEvent
from metering.storage import EventRow

MAX_PAST = timedelta(days=35)
MAX_FUTURE = timedelta(minutes=5)
MAX_IDENTIFIER = 100
MAX_EVENT_NAME = 100
MAX_SIGNIFICANT_DIGITS = 15
MAX_DIGITS = 30


class EventInput(NamedTuple):
    """A meter event as a client sent it; ``timestamp`` already parsed at the edge.

    A named tuple rather than a dataclass: bulk import makes 100,000 a second.
    """

    event_name: Any
    payload: Any
    identifier: Any = None
    timestamp: datetime | None = None


class Lookups:
    """Meters by event name and customers' clocks, read once per batch.

    The meters come first: which payload key names the customer depends on the
    meter. Both reads are usually answered from memory (``metering.lookups``).
    """

    def __init__(
        self, events: Sequence[EventInput], now: datetime, *, livemode: bool
    ) -> None:
        self.livemode = livemode
        self._load(events, now)

    @classmethod
    def of_documents(
        cls, documents: Sequence[Any], now: datetime, *, livemode: bool
    ) -> Lookups:
        """The lookups of events as JSON documents (``plain_document_rows``).

        Customers are read under every active meter's key at once: an extra
        candidate costs nothing, and one pass over the documents saves a lot.
        """
        lookups = cls.__new__(cls)
        lookups.livemode = livemode
        objects = [document for document in documents if type(document) is dict]
        lookups._index(
            lookups_cache.meters_by_event_name(
                {
                    name
                    for document in objects
                    if type(name := document.get("event_name")) is str
                },
                livemode=livemode,
            )
        )
        keys = {meter.customer_payload_key for meter in lookups.active.values()}
        payloads = [
            payload
            for document in objects
            if type(payload := document.get("payload")) is dict
        ]
        lookups._read_clocks(
            {
                customer_id
                for key in keys
                for payload in payloads
                if type(customer_id := payload.get(key)) is str
            },
            now,
        )
        return lookups

    def _load(self, events: Sequence[EventInput], now: datetime) -> None:
        names = {event.event_name for event in events if type(event.event_name) is str}
        self._index(lookups_cache.meters_by_event_name(names, livemode=self.livemode))
        self._read_clocks(self._customer_ids(events), now)

    def _read_clocks(self, wanted: set[str], now: datetime) -> None:
        clocks = (
            lookups_cache.customer_clocks(wanted, livemode=self.livemode)
            if wanted
            else {}
        )
        # A customer on a test clock lives at the clock's frozen time.
        self.customer_now: dict[str, datetime] = {
            customer_id: frozen_time or now
            for customer_id, frozen_time in clocks.items()
        }
        # Each customer's "now" and the timestamps it accepts, [earliest, latest].
        windows = {
            moment: (moment, moment - MAX_PAST, moment + MAX_FUTURE)
            for moment in set(self.customer_now.values())
        }
        self.windows: dict[str, tuple[datetime, datetime, datetime]] = {
            customer_id: windows[moment]
            for customer_id, moment in self.customer_now.items()
        }

    def _customer_ids(self, events: Sequence[EventInput]) -> set[str]:
        """The ids the events name as their customer, under their meter's key."""
        if len(self.active) == 1:
            # The usual batch: one meter, so one customer key (read a bit widely:
            # events of unknown names add candidates, which is harmless).
            key = next(iter(self.active.values())).customer_payload_key
            return {
                customer_id
                for event in events
                if type(event.payload) is dict
                and type(customer_id := event.payload.get(key)) is str
            }
        found = set()
        for event in events:
            name = event.event_name
            meter = self.active.get(name) if type(name) is str else None
            if meter is not None and type(event.payload) is dict:
                customer_id = event.payload.get(meter.customer_payload_key)
                if type(customer_id) is str:
                    found.add(customer_id)
        return found

    def _index(self, meters: list[Meter]) -> None:
        self.meters: dict[str, list[Meter]] = {}
        self.active: dict[str, Meter] = {}
        for meter in meters:
            self.meters.setdefault(meter.event_name, []).append(meter)
            if meter.is_active:
                self.active[meter.event_name] = meter


# PostgreSQL keeps no NUL in text, and a NUL in a name is almost surely a mistake.
_NUL = "Invalid {param}: must not contain the NUL character (U+0000)."


def _error(message: str, param: str, code: str) -> errors.MeterEventError:
    return errors.MeterEventError(message, param=param, code=code)


def _refuse_text(value: Any, param: str, limit: int) -> NoReturn:
    if value is None or value == "":
        raise _error(f"Missing required param: {param}.", param, "parameter_missing")
    if not isinstance(value, str):
        raise _error(f"Invalid {param}: must be a string.", param, "parameter_invalid")
    if "\x00" in value:
        raise _error(_NUL.format(param=param), param, "parameter_invalid")
    raise _error(
        f"Invalid {param}: must be at most {limit} characters.",
        param,
        "parameter_invalid",
    )


def require_text(value: Any, param: str, limit: int) -> str:
    """A non-empty string of at most ``limit`` characters, or a 400 naming ``param``."""
    if type(value) is not str or not value or len(value) > limit or "\x00" in value:
        _refuse_text(value, param, limit)
    return value


def _refuse_event_name(event_name: Any, lookups: Lookups) -> NoReturn:
    require_text(event_name, "event_name", MAX_EVENT_NAME)
    meters = lookups.meters.get(event_name)
    if meters:
        raise _error(
            f"The meter {meters[-1].id} for event_name '{event_name}' is inactive; "
            "reactivate it to record usage.",
            "event_name",
            errors.ARCHIVED_METER,
        )
    raise _error(
        f"No active meter was found for event_name '{event_name}'.",
        "event_name",
        errors.NO_METER,
    )


def _refuse_payload(payload: Any) -> NoReturn:
    if payload is None or payload == "":
        raise _error("Missing required param: payload.", "payload", "parameter_missing")
    if not isinstance(payload, dict):
        raise _error(
            "Invalid payload: must be an object of string keys and values.",
            "payload",
            "parameter_invalid",
        )
    for key, value in payload.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise _error(
                f"Invalid payload[{key}]: payload values must be strings.",
                f"payload[{key}]",
                "parameter_invalid",
            )
    raise AssertionError("payload refused without a reason")


def _refuse_customer(meter: Meter, customer_id: Any) -> NoReturn:
    key = meter.customer_payload_key
    if customer_id is None or customer_id == "":
        raise _error(
            f"The payload must contain the customer key '{key}' of meter {meter.id}.",
            f"payload[{key}]",
            errors.NO_CUSTOMER_DEFINED,
        )
    raise _error(
        f"No such customer: '{customer_id}'",
        f"payload[{key}]",
        errors.CUSTOMER_NOT_FOUND,
    )


def _refuse_value(meter: Meter, raw: Any) -> NoReturn:
    param = f"payload[{meter.value_payload_key}]"
    if raw is None or raw == "":
        raise _error(
            f"The payload must contain the value key '{meter.value_payload_key}' of "
            f"meter {meter.id}.",
            param,
            errors.NO_VALUE_DEFINED,
        )
    if _whole_number_text(raw) is None:
        raise _error(
            f"The value {raw!r} of {param} must be a whole number (such as 25 or -3).",
            param,
            errors.INVALID_VALUE,
        )
    raise _error(
        f"The value of {param} has more than {MAX_SIGNIFICANT_DIGITS} significant "
        "digits.",
        param,
        errors.TOO_MANY_DIGITS,
    )


def _whole_number_text(raw: Any) -> str | None:
    """The digits of ``raw`` (sign stripped) if it is a whole number, else None."""
    if type(raw) is int:
        raw = str(raw)
    elif type(raw) is not str:
        return None
    digits = raw[1:] if raw[:1] in ("+", "-") else raw
    return digits if plain_digits(digits) else None


def parse_value(raw: Any) -> Decimal | None:
    """A whole number of at most 15 significant digits, or None."""
    if type(raw) is str and 0 < len(raw) <= MAX_SIGNIFICANT_DIGITS:
        # The usual value: a few plain digits.
        if raw.isdigit() and raw.isascii():
            return Decimal(raw)
    digits = _whole_number_text(raw)
    if digits is None:
        return None
    digits = digits.lstrip("0")
    if len(digits) > MAX_DIGITS or len(digits.rstrip("0")) > MAX_SIGNIFICANT_DIGITS:
        return None
    return Decimal(raw)


def _refuse_timestamp(customer_now: datetime, too_old: bool) -> NoReturn:
    moment = int(customer_now.timestamp())
    if too_old:
        raise _error(
            "The timestamp must be within the past 35 days of the customer's current "
            f"time ({moment}).",
            "timestamp",
            errors.TIMESTAMP_TOO_OLD,
        )
    raise _error(
        "The timestamp may be at most 5 minutes after the customer's current time "
        f"({moment}).",
        "timestamp",
        errors.TIMESTAMP_IN_FUTURE,
    )


def validate(event: EventInput, lookups: Lookups, livemode: bool) -> EventRow:
    event_name = event.event_name
    meter = lookups.active.get(event_name) if type(event_name) is str else None
    if meter is None:
        _refuse_event_name(event_name, lookups)
    payload = event.payload
    if type(payload) is not dict:
        _refuse_payload(payload)
    customer_key, value_key = meter.customer_payload_key, meter.value_payload_key
    dimensions = None
    if len(payload) > 2 or customer_key not in payload or value_key not in payload:
        _refuse_payload_values(payload)
        dimensions = {
            key: str(item)
            for key, item in payload.items()
            if key != customer_key and key != value_key
        } or None
    customer_id = payload.get(customer_key)
    customer_now = (
        lookups.customer_now.get(customer_id) if type(customer_id) is str else None
    )
    if customer_now is None:
        _refuse_customer(meter, customer_id)
    raw_value = payload.get(value_key)
    value = parse_value(raw_value)
    if value is None:
        _refuse_value(meter, raw_value)
    identifier = event.identifier
    if identifier is None or identifier == "":
        identifier = str(uuid.uuid4())
    elif (
        type(identifier) is not str
        or len(identifier) > MAX_IDENTIFIER
        or "\x00" in identifier
    ):
        _refuse_text(identifier, "identifier", MAX_IDENTIFIER)
    timestamp = event.timestamp
    if timestamp is None:
        timestamp = customer_now
    elif timestamp < customer_now - MAX_PAST:
        _refuse_timestamp(customer_now, too_old=True)
    elif timestamp > customer_now + MAX_FUTURE:
        _refuse_timestamp(customer_now, too_old=False)
    elif timestamp.tzinfo is not UTC:
        timestamp = timestamp.astimezone(UTC)
    return EventRow(
        meter.id,
        customer_id,
        event_name,
        identifier,
        value,
        timestamp,
        customer_now,
        livemode,
        dimensions,
    )


event_key = operator.itemgetter(2, 3)  # (event_name, identifier) of an EventRow


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
    values: dict[str, Decimal] = {}
    moments: dict[int, datetime] = {}
    for event_name, payload, identifier, stamp in events:
        meter = active.get(event_name) if type(event_name) is str else None
        if meter is None or type(payload) is not dict or len(payload) != 2:
            return None
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
            value = values[raw] = Decimal(raw)
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
                )
            )
        )
    return rows


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


def _refuse_payload_values(payload: dict) -> None:
    """Refuse values that are not strings or whole numbers, and keys or values with
    a NUL character (only checked when there are extra keys)."""
    for key, value in payload.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            _refuse_payload(payload)
        if "\x00" in key or (type(value) is str and "\x00" in value):
            param = f"payload[{key}]"
            raise _error(_NUL.format(param=param), param, "parameter_invalid")


def same_event(stored: MeterEvent, payload: Any, timestamp: datetime | None) -> bool:
    """Whether a request for ``stored``'s identifier asks for that very event."""
    meter = stored.meter
    if type(payload) is not dict:
        return False
    extra = {
        key: str(value)
        for key, value in payload.items()
        if key not in (meter.customer_payload_key, meter.value_payload_key)
    }
    return (
        payload.get(meter.customer_payload_key) == stored.customer_id
        and parse_value(payload.get(meter.value_payload_key)) == stored.value
        and extra == (stored.dimensions or {})
        and (timestamp is None or timestamp == stored.timestamp)
    )

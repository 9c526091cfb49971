"""One meter event checked in full (``validate``), and whether a repeated identifier
asks for the very event already stored (``same_event``).
"""

from __future__ import annotations

import operator
import uuid
from datetime import UTC, datetime
from typing import Any

from metering.dimensions import NO_DIMENSIONS, dimension_values, payload_dimensions
from metering.models import MeterEvent
from metering.services.validation.lookups import (
    MAX_FUTURE,
    MAX_IDENTIFIER,
    MAX_PAST,
    EventInput,
    Lookups,
)
from metering.services.validation.refusals import (
    _refuse_customer,
    _refuse_event_name,
    _refuse_payload,
    _refuse_payload_values,
    _refuse_text,
    _refuse_timestamp,
    _refuse_value,
    parse_value,
)
from metering.storage import EventRow


def validate(event: EventInput, lookups: Lookups, livemode: bool) -> EventRow:
    event_name = event.event_name
    meter = lookups.active.get(event_name) if type(event_name) is str else None
    if meter is None:
        _refuse_event_name(event_name, lookups)
    payload = event.payload
    if type(payload) is not dict:
        _refuse_payload(payload)
    customer_key, value_key = meter.customer_payload_key, meter.value_payload_key
    declared = meter.dimension_keys
    dimensions = None
    if len(payload) > 2 or customer_key not in payload or value_key not in payload:
        _refuse_payload_values(payload)
        dimensions = {
            key: str(item)
            for key, item in payload.items()
            if key != customer_key and key != value_key and key not in declared
        } or None
    set_id = (
        lookups.dimension_set(meter.id, dimension_values(meter, payload))
        if declared
        else NO_DIMENSIONS
    )
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
        None,
        set_id,
    )


event_key = operator.itemgetter(2, 3)  # (event_name, identifier) of an EventRow


def same_event(stored: MeterEvent, payload: Any, timestamp: datetime | None) -> bool:
    """Whether a request for ``stored``'s identifier asks for that very event."""
    meter = stored.meter
    if type(payload) is not dict:
        return False
    extra = {
        key: str(value)
        for key, value in payload.items()
        if key not in (meter.customer_payload_key, meter.value_payload_key)
        and value != ""
    }
    stored_extra = {
        **(stored.dimensions or {}),
        **payload_dimensions(meter, stored.dimension_set),
    }
    return (
        payload.get(meter.customer_payload_key) == stored.customer_id
        and parse_value(payload.get(meter.value_payload_key)) == stored.value
        and extra == stored_extra
        and (timestamp is None or timestamp == stored.timestamp)
    )

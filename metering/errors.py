"""Error codes of meter event ingestion (Stripe's v2 codes, used on every path)."""

from __future__ import annotations

from core.errors import InvalidRequest

NO_METER = "no_meter"
ARCHIVED_METER = "archived_meter"
DUPLICATE = "duplicate_meter_event"
NO_CUSTOMER_DEFINED = "payload_no_customer_defined"
CUSTOMER_NOT_FOUND = "meter_event_customer_not_found"
NO_VALUE_DEFINED = "payload_no_value_defined"
INVALID_VALUE = "payload_invalid_value"
TOO_MANY_DIGITS = "meter_event_value_too_many_digits"
TIMESTAMP_IN_FUTURE = "timestamp_in_future"
TIMESTAMP_TOO_OLD = "timestamp_too_far_in_past"
CANCEL_NOT_FOUND = "invalid_cancel_configuration"
ALREADY_CANCELED = "meter_event_already_canceled"


class MeterEventError(InvalidRequest):
    """A meter event that cannot be recorded (400), with the parameter at fault."""


def with_prefix(error: InvalidRequest, prefix: str) -> InvalidRequest:
    """Re-home an error under ``prefix`` (``events[3]``) for batch calls.

    ``payload[value]`` becomes ``events[3][payload][value]``.
    """
    if not prefix:
        return error
    param = prefix
    if error.param:
        head, bracket, rest = error.param.partition("[")
        param = f"{prefix}[{head}]{bracket}{rest}"
    return type(error)(f"{prefix}: {error.message}", param=param, code=error.code)

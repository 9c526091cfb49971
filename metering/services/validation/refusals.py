"""The explained refusals of a meter event, field by field (event name, payload,
customer, value, identifier, timestamp), and the text and value parsers they share.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

from core.numbers import plain_digits
from metering import errors
from metering.models import Meter
from metering.services.validation.lookups import (
    MAX_DIGITS,
    MAX_EVENT_NAME,
    MAX_SIGNIFICANT_DIGITS,
    Lookups,
)

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


def _refuse_payload_values(payload: dict) -> None:
    """Refuse values that are not strings or whole numbers, and keys or values with
    a NUL character (only checked when there are extra keys)."""
    for key, value in payload.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            _refuse_payload(payload)
        if "\x00" in key or (type(value) is str and "\x00" in value):
            param = f"payload[{key}]"
            raise _error(_NUL.format(param=param), param, "parameter_invalid")

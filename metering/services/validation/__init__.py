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

The parts: ``lookups`` (limits, ``EventInput``, ``Lookups``), ``refusals`` (each
refusal explained, ``require_text``, ``parse_value``), ``event`` (``validate``,
``same_event``) and ``plain`` (the fast loop).
"""

from metering.services.validation.event import event_key, same_event, validate
from metering.services.validation.lookups import (
    MAX_DIGITS,
    MAX_EVENT_NAME,
    MAX_FUTURE,
    MAX_IDENTIFIER,
    MAX_PAST,
    MAX_SIGNIFICANT_DIGITS,
    EventInput,
    Lookups,
)
from metering.services.validation.plain import (
    DOCUMENT_FIELDS,
    new_row,
    plain_document_rows,
    plain_rows,
)
from metering.services.validation.refusals import parse_value, require_text

__all__ = [
    "DOCUMENT_FIELDS",
    "MAX_DIGITS",
    "MAX_EVENT_NAME",
    "MAX_FUTURE",
    "MAX_IDENTIFIER",
    "MAX_PAST",
    "MAX_SIGNIFICANT_DIGITS",
    "EventInput",
    "Lookups",
    "event_key",
    "new_row",
    "parse_value",
    "plain_document_rows",
    "plain_rows",
    "require_text",
    "same_event",
    "validate",
]

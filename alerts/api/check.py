"""``GET /v1/entitlements/check``: one read of the customer's access snapshot.

Products call it on each of their own requests, so it is served twice over with
one answer: by the lean WSGI lane (``core.api.lane``) for the plain form
``?customer=cus_...``, and by ``CheckView`` (Django) for everything else
(unknown parameters, a customer that does not exist: the errors). Both answer
through ``check_answer``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from alerts.services import limits
from core import clock
from core.api.lane import LaneRequest, LaneResponse

# Short: a product calls on every request; the data changes within seconds.
CHECK_MAX_AGE = 2
CUSTOMER_ID_MAX_LENGTH = 64
# What the view's ``Allow`` header says (DRF's), so both paths answer alike.
_ALLOW = ("Allow", "GET, HEAD, OPTIONS")


@dataclass(frozen=True)
class CheckAnswer:
    """200 with the snapshot's body, or 304 when the caller holds its tag."""

    status: int
    body: dict | None
    headers: tuple[tuple[str, str], ...]


def check_answer(
    *, customer_id: str, livemode: bool, if_none_match: str
) -> CheckAnswer | None:
    """The check's answer; None when no such customer exists in this mode."""
    access = limits.customer_access_get(
        customer_id=customer_id, livemode=livemode, now=clock.now()
    )
    if access is None:
        return None
    etag = f'"{access.etag}"'
    headers = (("ETag", etag), ("Cache-Control", f"private, max-age={CHECK_MAX_AGE}"))
    if etag in _tags(if_none_match):
        return CheckAnswer(304, None, headers)
    return CheckAnswer(200, access.body, headers)


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def check_lane(call: LaneRequest) -> LaneResponse | None:
    """The lane's check: only ``?customer=<id>``; anything else goes to Django."""
    customer_id = _only_customer(call.request.META.get("QUERY_STRING", ""))
    if customer_id is None:
        return None
    answer = check_answer(
        customer_id=customer_id,
        livemode=call.api_key.livemode,
        if_none_match=call.request.META.get("HTTP_IF_NONE_MATCH", ""),
    )
    if answer is None:
        return None  # Django answers the 404
    content = b"" if answer.body is None else _json(answer.body)
    return LaneResponse(answer.status, content, (*answer.headers, _ALLOW))


def _only_customer(query: str) -> str | None:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    if len(pairs) != 1 or pairs[0][0] != "customer":
        return None
    customer_id = pairs[0][1]
    if not 0 < len(customer_id) <= CUSTOMER_ID_MAX_LENGTH or "\x00" in customer_id:
        return None
    return customer_id


def _json(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

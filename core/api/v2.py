"""``/v2`` conventions: JSON bodies, RFC 3339 times, the v2 error envelope, lists
with ``next_page_url``.

The meter event endpoints (``metering.api.v2``) and the rate card endpoints
(``catalog.api.rate_cards``, ``billing.api.rate_card_migrations``) share them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from rest_framework.response import Response

from core.api.base import StripeView
from core.api.errors import to_tally_error, unexpected_error
from core.errors import InvalidRequest, TallyError

logger = logging.getLogger(__name__)

V2_LIST_LIMIT = 20
V2_LIST_MAX = 100


def v2_error_response(error: TallyError) -> Response:
    response = Response(v2_error_body(error), status=error.http_status)
    response.tally_error_code = error.code
    return response


def v2_error_body(error: TallyError) -> dict:
    return {"error": {"type": error.type, "code": error.code, "message": error.message}}


def v2_exception_handler(exc: Exception, context: dict) -> Response:
    error = to_tally_error(exc)
    if error is None:
        logger.exception("Unhandled v2 API error", exc_info=exc)
        error = unexpected_error()
    return v2_error_response(error)


class V2View(StripeView):
    """v2: JSON bodies, errors as ``{"error": {type, code, message}}``."""

    def get_exception_handler(self):
        return v2_exception_handler

    def body(self, request) -> dict:
        data = request.data
        if not data:
            return {}
        if not isinstance(data, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        return dict(data)

    def parse_body(self, request, serializer_class) -> dict:
        """The JSON body checked by ``serializer_class``; unknown keys refused."""
        body = self.body(request)
        unknown = sorted(set(body) - set(serializer_class().fields))
        if unknown:
            raise InvalidRequest(
                f"Received unknown parameter: {unknown[0]}",
                param=unknown[0],
                code="parameter_unknown",
            )
        serializer = serializer_class(data=body)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def rfc3339(moment: datetime | None) -> str | None:
    """``2024-11-26T16:33:03.000Z``: how v2 objects show a time."""
    if moment is None:
        return None
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def v2_list(request, queryset: QuerySet, serialize) -> dict:
    """A v2 list page, newest first: ``data``, ``next_page_url``, ``previous_page_url``.

    ``page`` is the id of the last object of the page before (opaque to
    clients); pages go forward only, so ``previous_page_url`` is null.
    """
    try:
        limit = int(request.query_params.get("limit") or V2_LIST_LIMIT)
    except ValueError:
        limit = 0
    if not 1 <= limit <= V2_LIST_MAX:
        raise InvalidRequest(
            f"limit must be a whole number from 1 to {V2_LIST_MAX}.", param="limit"
        )
    page = request.query_params.get("page")
    rows = queryset.order_by("-created", "-id")
    if page:
        after = queryset.filter(pk=page).values_list("created", flat=True).first()
        if after is None:
            raise InvalidRequest("Invalid page token.", param="page")
        rows = rows.filter(Q(created__lt=after) | Q(created=after, id__lt=page))
    found = list(rows[: limit + 1])
    data = found[:limit]
    next_url = None
    if len(found) > limit:
        query = {**request.query_params.dict(), "page": data[-1].pk, "limit": limit}
        next_url = f"{request.path}?{urlencode(query)}"
    return {
        "data": [serialize(item) for item in data],
        "next_page_url": next_url,
        "previous_page_url": None,
    }

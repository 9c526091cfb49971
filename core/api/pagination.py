"""Stripe's list envelope with cursor pagination, newest first and stable on ties."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model, Q, QuerySet

from core import modes
from core.errors import InvalidRequest, ResourceMissing

_LOOKUPS = {"exact": "", "gt": "__gt", "gte": "__gte", "lt": "__lt", "lte": "__lte"}


def filter_range(queryset: QuerySet, field: str, bounds: dict | None) -> QuerySet:
    """Apply ``{"gte": dt, "lt": dt}`` (from RangeFilterField) to ``field``."""
    if not bounds:
        return queryset
    return queryset.filter(
        **{f"{field}{_LOOKUPS[op]}": value for op, value in bounds.items()}
    )


def item_expand(expand: Iterable[str]) -> list[str]:
    """Strip the ``data.`` prefix that list endpoints require on expand paths."""
    paths = []
    for path in expand:
        if not path.startswith("data."):
            raise InvalidRequest(
                f"This property cannot be expanded ({path}). You may want to try "
                f"expanding 'data.{path}' instead.",
                param="expand",
            )
        paths.append(path[len("data.") :])
    return paths


def paginate(
    *,
    queryset: QuerySet,
    params: dict[str, Any],
    url: str,
    serialize: Callable[[Model], dict],
    object_name: str,
    order_field: str = "created",
    newest_first: bool = True,
) -> dict[str, Any]:
    """Return one page of ``queryset`` as ``{object: "list", data, has_more, url}``.

    Ordered by (order_field, pk), descending when ``newest_first``. ``starting_after``
    pages towards the end of that order, ``ending_before`` towards its start. Only
    the request's mode's objects are listed (``core.modes``), cursors included.
    """
    queryset = modes.in_mode(queryset)
    limit = params.get("limit", 10)
    after, before = params.get("starting_after"), params.get("ending_before")
    cursor_id = after or before
    forward = before is None
    descending = newest_first if forward else not newest_first
    sign = "-" if descending else ""
    rows = queryset.order_by(f"{sign}{order_field}", f"{sign}pk")
    if cursor_id:
        rows = rows.filter(
            _beyond(
                queryset.model,
                cursor_id,
                order_field,
                descending,
                object_name,
                "starting_after" if after else "ending_before",
            )
        )
    page = list(rows[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    if not forward:
        page.reverse()
    return {
        "object": "list",
        "data": [serialize(item) for item in page],
        "has_more": has_more,
        "url": url,
    }


def _beyond(model, cursor_id, order_field, descending, object_name, param) -> Q:
    cursor = (
        modes.in_mode(model._default_manager.filter(pk=cursor_id))
        .values(order_field)
        .first()
    )
    if cursor is None:
        raise ResourceMissing.for_id(object_name, cursor_id, param=param)
    value = cursor[order_field]
    op = "lt" if descending else "gt"
    return Q(**{f"{order_field}__{op}": value}) | Q(
        **{order_field: value, f"pk__{op}": cursor_id}
    )

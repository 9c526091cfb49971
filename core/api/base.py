"""The base API view: parse Stripe parameters, call one service, render.

Every request runs in its API key's mode (``core.modes``): ``Model.objects``,
``get_or_404``, ``render_list`` and ``expand[]`` see that mode's objects only, and
what the request creates takes it. A new endpoint gets this for free; it needs no
``livemode`` filter or argument of its own.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import modes, resources
from core.api.errors import plain_error_response
from core.api.pagination import item_expand, paginate
from core.api.params import query_params
from core.errors import InvalidRequest, ResourceMissing


class StripeView(APIView):
    """Base for every ``/v1`` endpoint."""

    def params(self, request: Request) -> dict[str, Any]:
        """Return the request's parameters: the query string, then the body on top."""
        params = query_params(request._request)
        if request.method in ("POST", "PUT", "PATCH"):
            body = request.data
            if isinstance(body, QueryDict):  # no body, or no known content type
                body = {}
            if not isinstance(body, dict):
                raise InvalidRequest("The request body must be an object.")
            params.update(body)
        return params

    def parse(self, request: Request, serializer_class) -> dict[str, Any]:
        serializer = serializer_class(data=self.params(request))
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def render(
        self, instance, params: dict | None = None, *, status: int = 200
    ) -> Response:
        expand = (params or {}).get("expand", [])
        return Response(resources.serialize(instance, expand=expand), status=status)

    def render_list(
        self,
        request: Request,
        queryset,
        params: dict,
        *,
        object_name: str,
        newest_first: bool = True,
        order_field: str = "created",
    ) -> Response:
        expand = item_expand(params.get("expand", []))
        return Response(
            paginate(
                queryset=queryset,
                params=params,
                url=request.path,
                serialize=lambda item: resources.serialize(item, expand=expand),
                object_name=object_name,
                newest_first=newest_first,
                order_field=order_field,
            )
        )


def get_or_404(queryset, object_id: str, object_name: str, *, param: str = "id"):
    """Fetch one object by id in the request's mode, or raise Stripe's 404
    ``resource_missing`` (another mode's object is missing too: ``core.modes``)."""
    instance = modes.in_mode(queryset).filter(pk=object_id).first()
    if instance is None:
        raise ResourceMissing.for_id(object_name, object_id, param=param)
    return instance


def deleted(object_id: str, object_name: str) -> dict:
    return {"id": object_id, "object": object_name, "deleted": True}


def unknown_route(request, *args, **kwargs):
    """Catch-all for ``/v1`` and ``/v2``: 404 in the envelope, never an HTML page."""
    return plain_error_response(
        InvalidRequest(
            f"Unrecognized request URL ({request.method}: {request.path}). Please see "
            "the API reference at /api/docs/.",
            code="resource_missing",
            http_status=404,
        )
    )

"""``/v1/billing/meters``, meter events and adjustments: parse, one service, render."""

from __future__ import annotations

import hashlib
import json

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core import clock, resources
from core import context as request_context
from core.api.base import StripeView, get_or_404
from core.api.errors import plain_error_response
from core.api.fields import ApiParams, UnixTimeField
from core.api.params import decode_form, load_json, parse_nested, query_params
from core.errors import InvalidRequest, ResourceMissing, TallyError
from core.models import Customer
from metering import selectors, services
from metering.api import serializers as s
from metering.models import Meter


def _meter(meter_id: str) -> Meter:
    return get_or_404(Meter.objects.all(), meter_id, "billing.meter")


def _livemode() -> bool:
    return request_context.current().livemode


class MeterListView(StripeView):
    @extend_schema(
        operation_id="ListBillingMeters",
        parameters=[s.MeterListParams],
        responses=s.MeterSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.MeterListParams)
        rows = Meter.objects.all()
        if params.get("status"):
            rows = rows.filter(status=params["status"])
        return self.render_list(request, rows, params, object_name="billing.meter")

    @extend_schema(
        operation_id="CreateBillingMeter",
        request=s.MeterCreateParams,
        responses=s.MeterSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.MeterCreateParams)
        meter = services.meter_create(
            display_name=params["display_name"],
            event_name=params["event_name"],
            formula=params["default_aggregation"]["formula"],
            customer_payload_key=params.get("customer_mapping", {}).get(
                "event_payload_key", "stripe_customer_id"
            ),
            value_payload_key=params.get("value_settings", {}).get(
                "event_payload_key", "value"
            ),
            event_time_window=params.get("event_time_window"),
            dimension_payload_keys=params.get("dimension_payload_keys"),
            unique_payload_key=params["default_aggregation"].get("unique_payload_key"),
            now=clock.now(),
            livemode=_livemode(),
        )
        return self.render(meter, params)


class MeterDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveBillingMeter",
        parameters=[ApiParams],
        responses=s.MeterSerializer,
    )
    def get(self, request, meter_id):
        params = self.parse(request, ApiParams)
        return self.render(_meter(meter_id), params)

    @extend_schema(
        operation_id="UpdateBillingMeter",
        request=s.MeterUpdateParams,
        responses=s.MeterSerializer,
    )
    def post(self, request, meter_id):
        params = self.parse(request, s.MeterUpdateParams)
        meter = services.meter_update(
            meter=_meter(meter_id), params=params, now=clock.now()
        )
        return self.render(meter, params)


class MeterDeactivateView(StripeView):
    @extend_schema(
        operation_id="DeactivateBillingMeter",
        request=ApiParams,
        responses=s.MeterSerializer,
    )
    def post(self, request, meter_id):
        params = self.parse(request, ApiParams)
        meter = services.meter_deactivate(meter=_meter(meter_id), now=clock.now())
        return self.render(meter, params)


class MeterReactivateView(StripeView):
    @extend_schema(
        operation_id="ReactivateBillingMeter",
        request=ApiParams,
        responses=s.MeterSerializer,
    )
    def post(self, request, meter_id):
        params = self.parse(request, ApiParams)
        meter = services.meter_reactivate(meter=_meter(meter_id), now=clock.now())
        return self.render(meter, params)


def _position(summaries: list, cursor: str, name: str) -> int:
    """Where the summary with id ``cursor`` is (404 naming ``name`` if nowhere)."""
    for index, summary in enumerate(summaries):
        if s.summary_id(summary) == cursor:
            return index
    raise ResourceMissing(f"No such meter event summary: '{cursor}'", param=name)


def _page(summaries: list, params: dict) -> tuple[list, bool]:
    """Cursor pagination over computed summaries (already newest first).

    Pages the summaries before they are rendered: a month per day and group is
    thousands of them, and an id (a digest) for each would cost more than the
    read; only the cursors' ids are looked for."""
    limit = params.get("limit", 10)
    found = {
        name: _position(summaries, params[name], name)
        for name in ("starting_after", "ending_before")
        if params.get(name)
    }
    if "ending_before" in found:
        before = summaries[: found["ending_before"]]
        return before[-limit:], len(before) > limit
    rest = summaries[found.get("starting_after", -1) + 1 :]
    return rest[:limit], len(rest) > limit


class MeterEventSummaryListView(StripeView):
    @extend_schema(
        operation_id="ListBillingMeterEventSummaries",
        parameters=[s.EventSummaryListParams],
        responses=s.MeterEventSummarySerializer(many=True),
    )
    def get(self, request, meter_id):
        params = self.parse(request, s.EventSummaryListParams)
        meter = _meter(meter_id)
        get_or_404(
            Customer.objects.all(), params["customer"], "customer", param="customer"
        )
        summaries = selectors.meter_event_summaries(
            meter=meter,
            customer_id=params["customer"],
            start=params["start_time"],
            end=params["end_time"],
            grouping_window=params.get("value_grouping_window"),
            group_by=params.get("dimension_group_by_keys") or (),
            filters=params.get("dimension_filters") or {},
        )
        page, has_more = _page(summaries, params)
        data = [s.summary_data(summary) for summary in page]
        return Response(
            {"object": "list", "data": data, "has_more": has_more, "url": request.path}
        )


_EVENT_PARAMS = frozenset(
    {"event_name", "payload", "identifier", "timestamp", "expand"}
)


def _meter_event_params(params: dict) -> dict:
    """Check ``POST /v1/billing/meter_events`` parameters by hand.

    This is the busiest endpoint; a nested DRF serializer would cost more than the
    insert. Contents (event name, payload, identifier) are the service's to check.
    """
    for key in params:
        if key not in _EVENT_PARAMS:
            raise InvalidRequest(
                f"Received unknown parameter: {key}",
                param=key,
                code="parameter_unknown",
            )
    if params.get("timestamp") not in (None, ""):
        try:
            params["timestamp"] = UnixTimeField().to_internal_value(params["timestamp"])
        except ValidationError:
            raise InvalidRequest(
                "Invalid timestamp: must be a unix timestamp in seconds.",
                param="timestamp",
            ) from None
    else:
        params["timestamp"] = None
    expand = params.get("expand", [])
    if not isinstance(expand, list) or not all(isinstance(p, str) for p in expand):
        raise InvalidRequest(
            "Invalid expand: must be a list of strings.", param="expand"
        )
    return params


def json_response(data: dict, status: int = 200) -> HttpResponse:
    """JSON as DRF's renderer writes it (compact, UTF-8), without its machinery."""
    return HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


# The bodies the SDKs send, which ``MeterEventCreateView`` parses itself.
FAST_BODIES = frozenset({"application/x-www-form-urlencoded", "application/json"})


def _body_params(request) -> dict:
    """The query string, then the form or JSON body on top (``StripeView.params``)."""
    params = query_params(request) if request.GET else {}
    if request.body:
        params.update(body_params(request.body, request.content_type, request.encoding))
    return params


def body_params(body: bytes, content_type: str, encoding: str | None) -> dict:
    """The parameters of a form or JSON body (``FAST_BODIES``)."""
    if content_type == "application/json":
        params = load_json(body)
        if not isinstance(params, dict):
            raise InvalidRequest("The request body must be an object.")
        return params
    return parse_nested(decode_form(body, encoding or "utf-8"))


def _replayed(response, replayed: bool):
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _request_key(api_key, key: str) -> str:
    """A digest of the API key and the Idempotency-Key: what a retry repeats."""
    return hashlib.sha256(f"{api_key.pk}:{key}".encode()).hexdigest()


class MeterEventCreateView(StripeView):
    """``POST /v1/billing/meter_events``, the busiest endpoint.

    Form and JSON bodies skip DRF's request wrapping, content negotiation and
    renderer, a good third of the request's CPU: ApiKeyMiddleware has already
    authenticated the key, and errors get the same envelope. Other content types
    (multipart) take DRF's path through ``post``.

    An ``Idempotency-Key`` (which the SDKs send with every POST) is honoured with
    the event itself rather than by the idempotency store, whose two extra commits
    would cost more than the event: the event records a digest of the key, and
    gets an identifier derived from it when it has none; a retry with the key
    finds the event by its identifier and gets it back, marked
    ``Idempotent-Replayed``.
    """

    idempotency_exempt = True

    def dispatch(self, request, *args, **kwargs):
        if (
            request.method != "POST"
            or request.content_type not in FAST_BODIES
            or getattr(request, "api_key", None) is None
        ):
            return super().dispatch(request, *args, **kwargs)
        try:
            data, replayed = self._create(request, _body_params(request))
        except TallyError as error:
            return plain_error_response(error)
        return _replayed(json_response(data), replayed)

    @extend_schema(
        operation_id="CreateBillingMeterEvent",
        request=s.MeterEventCreateParams,
        responses=s.MeterEventSerializer,
    )
    def post(self, request):
        data, replayed = self._create(request, self.params(request))
        return _replayed(Response(data), replayed)

    def _create(self, request, raw_params: dict) -> tuple[dict, bool]:
        return create_meter_event(
            request.api_key, request.headers.get("Idempotency-Key"), raw_params
        )


def create_meter_event(
    api_key, idempotency_key: str | None, raw_params: dict
) -> tuple[dict, bool]:
    """``POST /v1/billing/meter_events`` of parameters: (the event, was it a replay).

    Shared by the view and by the lean WSGI lane (``metering.api.lane``).
    """
    params = _meter_event_params(raw_params)
    fields = {
        "event_name": params.get("event_name"),
        "payload": params.get("payload"),
        "timestamp": params["timestamp"],
        "now": clock.now(),
        "livemode": _livemode(),
    }
    if idempotency_key:
        if len(idempotency_key) > 255:
            raise InvalidRequest(
                "Idempotency-Key must be at most 255 characters.",
                param="Idempotency-Key",
            )
        request_key = _request_key(api_key, idempotency_key)
        event, replayed = services.meter_event_create_or_replay(
            identifier=params.get("identifier") or f"idk_{request_key[:48]}",
            request_key=request_key,
            **fields,
        )
    else:
        event = services.meter_event_create(
            identifier=params.get("identifier"), **fields
        )
        replayed = False
    if params.get("expand"):
        return resources.serialize(event, expand=params["expand"]), replayed
    return s.meter_event_data(event), replayed


class MeterEventAdjustmentCreateView(StripeView):
    @extend_schema(
        operation_id="CreateBillingMeterEventAdjustment",
        request=s.MeterEventAdjustmentCreateParams,
        responses=s.MeterEventAdjustmentSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.MeterEventAdjustmentCreateParams)
        identifier = params.get("cancel", {}).get("identifier")
        if not identifier:
            raise InvalidRequest(
                "Missing required param: cancel[identifier].",
                param="cancel[identifier]",
                code="parameter_missing",
            )
        adjustment = services.meter_event_cancel(
            event_name=params["event_name"],
            identifier=identifier,
            now=clock.now(),
        )
        return self.render(adjustment, params)

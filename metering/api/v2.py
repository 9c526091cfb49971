"""``/v2/billing`` meter event endpoints: JSON in, RFC 3339 timestamps, v2 errors.

The stream authenticates with a meter event session token instead of a secret key
(``core.api.middleware.KEYLESS_PATHS`` lets it through); it is the hot path, so its
body is checked by hand rather than by a nested serializer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core import clock
from core import context as request_context
from core.api.base import StripeView
from core.api.errors import to_tally_error, unexpected_error
from core.errors import AuthenticationFailed, InvalidRequest, TallyError
from metering import services
from metering.api import serializers as s

logger = logging.getLogger(__name__)

MAX_STREAM_EVENTS = 100
_EVENT_KEYS = frozenset({"event_name", "payload", "identifier", "timestamp"})


class SessionExpired(AuthenticationFailed):
    """An unknown or expired stream token (the SDK raises TemporarySessionExpired)."""

    type = "temporary_session_expired"
    default_code = "billing_meter_event_session_expired"


def v2_error_response(error: TallyError) -> Response:
    response = Response(
        {"error": {"type": error.type, "code": error.code, "message": error.message}},
        status=error.http_status,
    )
    response.tally_error_code = error.code
    return response


def v2_exception_handler(exc: Exception, context: dict) -> Response:
    error = to_tally_error(exc)
    if error is None:
        logger.exception("Unhandled v2 API error", exc_info=exc)
        error = unexpected_error()
    return v2_error_response(error)


def parse_rfc3339(value: Any, param: str) -> datetime:
    """An RFC 3339 timestamp with a UTC offset (``2024-06-01T12:00:00.000Z``)."""
    if isinstance(value, str) and "T" in value.upper():
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise InvalidRequest(
        f"Invalid {param}: must be an RFC 3339 timestamp with an offset, such as "
        "2024-06-01T12:00:00.000Z.",
        param=param,
    )


def _object(body: Any, param: str, allowed: frozenset[str]) -> dict:
    if not isinstance(body, dict):
        raise InvalidRequest(f"Invalid {param or 'body'}: must be a JSON object.")
    unknown = [key for key in body if key not in allowed]
    if unknown:
        name = f"{param}[{unknown[0]}]" if param else unknown[0]
        raise InvalidRequest(
            f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
        )
    return body


def event_input(body: Any, prefix: str = "") -> services.EventInput:
    """One v2 event object into an EventInput (types are checked by the service)."""
    event = _object(body, prefix, _EVENT_KEYS)
    timestamp = event.get("timestamp")
    if timestamp is not None:
        param = f"{prefix}[timestamp]" if prefix else "timestamp"
        timestamp = parse_rfc3339(timestamp, param)
    return services.EventInput(
        event_name=event.get("event_name"),
        payload=event.get("payload"),
        identifier=event.get("identifier"),
        timestamp=timestamp,
    )


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


_V2EventParams = inline_serializer(
    "V2MeterEventParams",
    {
        "event_name": serializers.CharField(),
        "payload": serializers.DictField(child=serializers.CharField()),
        "identifier": serializers.CharField(required=False),
        "timestamp": serializers.DateTimeField(required=False),
    },
)


_SessionSchema = inline_serializer(
    "V2MeterEventSession",
    {
        "id": serializers.CharField(),
        "object": serializers.CharField(),
        "authentication_token": serializers.CharField(),
        "created": serializers.CharField(),
        "expires_at": serializers.CharField(),
        "livemode": serializers.BooleanField(),
    },
)


class MeterEventSessionView(V2View):
    @extend_schema(
        operation_id="CreateV2MeterEventSession", request=None, responses=_SessionSchema
    )
    def post(self, request):
        _object(self.body(request), "", frozenset())
        session, token = services.meter_event_session_create(
            now=clock.now(), livemode=request_context.current().livemode
        )
        return Response(s.v2_session(session, token))


class MeterEventStreamView(V2View):
    authentication_classes: list = []
    permission_classes: list = []

    def _authenticate(self, request) -> services.sessions.SessionAuth:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed(
                "Authenticate with a meter event session token: 'Authorization: Bearer "
                "<authentication_token>' from POST /v2/billing/meter_event_session."
            )
        auth = services.meter_event_session_authenticate(
            token=token.strip(), now=clock.now()
        )
        if auth is None:
            raise SessionExpired(
                "The meter event session has expired or is unknown; create a new one "
                "with POST /v2/billing/meter_event_session."
            )
        return auth

    @extend_schema(
        operation_id="CreateV2MeterEventStream",
        request=inline_serializer(
            "V2MeterEventStreamParams",
            {"events": serializers.ListField(child=_V2EventParams, max_length=100)},
        ),
        responses={200: OpenApiResponse(description="An empty object: {}")},
    )
    def post(self, request):
        auth = self._authenticate(request)
        body = _object(self.body(request), "", frozenset({"events"}))
        items = body.get("events")
        if not isinstance(items, list) or not items:
            raise InvalidRequest(
                "Missing required param: events.",
                param="events",
                code="parameter_missing",
            )
        if len(items) > MAX_STREAM_EVENTS:
            raise InvalidRequest(
                f"Invalid events: at most {MAX_STREAM_EVENTS} events per request.",
                param="events",
            )
        events = [
            event_input(item, f"events[{index}]") for index, item in enumerate(items)
        ]
        services.meter_events_ingest_batch(
            events=events, now=clock.now(), livemode=auth.livemode, all_or_nothing=True
        )
        return Response({})


_V2EventSchema = inline_serializer(
    "V2MeterEvent",
    {
        "object": serializers.CharField(),
        "created": serializers.CharField(),
        "event_name": serializers.CharField(),
        "identifier": serializers.CharField(),
        "livemode": serializers.BooleanField(),
        "payload": serializers.DictField(child=serializers.CharField()),
        "timestamp": serializers.CharField(),
    },
)


class V2MeterEventCreateView(V2View):
    @extend_schema(
        operation_id="CreateV2MeterEvent",
        request=_V2EventParams,
        responses=_V2EventSchema,
    )
    def post(self, request):
        event = event_input(self.body(request))
        stored = services.meter_event_create(
            event_name=event.event_name,
            payload=event.payload,
            identifier=event.identifier,
            timestamp=event.timestamp,
            now=clock.now(),
            livemode=request_context.current().livemode,
        )
        return Response(s.v2_meter_event(stored))


_ADJUSTMENT_KEYS = frozenset({"event_name", "type", "cancel"})


class V2MeterEventAdjustmentCreateView(V2View):
    @extend_schema(
        operation_id="CreateV2MeterEventAdjustment",
        request=inline_serializer(
            "V2MeterEventAdjustmentParams",
            {
                "event_name": serializers.CharField(),
                "type": serializers.ChoiceField(choices=["cancel"]),
                "cancel": inline_serializer(
                    "V2MeterEventAdjustmentCancel",
                    {"identifier": serializers.CharField()},
                ),
            },
        ),
        responses=s.MeterEventAdjustmentSerializer,
    )
    def post(self, request):
        body = _object(self.body(request), "", _ADJUSTMENT_KEYS)
        if body.get("type") != "cancel":
            raise InvalidRequest(
                "Invalid type: must be 'cancel'.",
                param="type",
                code="invalid_cancel_configuration",
            )
        cancel = _object(body.get("cancel") or {}, "cancel", frozenset({"identifier"}))
        if not cancel.get("identifier"):
            raise InvalidRequest(
                "Missing required param: cancel[identifier].",
                param="cancel[identifier]",
                code="invalid_cancel_configuration",
            )
        adjustment = services.meter_event_cancel(
            event_name=body.get("event_name"),
            identifier=cancel["identifier"],
            now=clock.now(),
            livemode=request_context.current().livemode,
        )
        return Response(s.v2_adjustment(adjustment))

"""``/v2/billing`` meter event endpoints: JSON in, RFC 3339 timestamps, v2 errors.

The stream authenticates with a meter event session token instead of a secret key
(``core.api.middleware.KEYLESS_PATHS`` lets it through); it is the hot path, so its
body is checked by hand rather than by a nested serializer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core import clock, modes
from core import context as request_context
from core.api.errors import unexpected_error
from core.api.params import load_json
from core.api.v2 import V2View, v2_error_body
from core.errors import AuthenticationFailed, InvalidRequest, TallyError
from metering import services
from metering.api import serializers as s
from metering.api.views import json_response

logger = logging.getLogger(__name__)

MAX_STREAM_EVENTS = 100
_EVENT_KEYS = frozenset({"event_name", "payload", "identifier", "timestamp"})


class SessionExpired(AuthenticationFailed):
    """An unknown or expired stream token (the SDK raises TemporarySessionExpired)."""

    type = "temporary_session_expired"
    default_code = "billing_meter_event_session_expired"


def _moment(value: Any) -> datetime | None:
    if isinstance(value, str) and ("T" in value or "t" in value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            return moment
    return None


def parse_rfc3339(value: Any, param: str) -> datetime:
    """An RFC 3339 timestamp with a UTC offset (``2024-06-01T12:00:00.000Z``)."""
    moment = _moment(value)
    if moment is not None:
        return moment
    raise InvalidRequest(
        f"Invalid {param}: must be an RFC 3339 timestamp with an offset, such as "
        "2024-06-01T12:00:00.000Z.",
        param=param,
    )


def _object(body: Any, param: str, allowed: frozenset[str]) -> dict:
    if not isinstance(body, dict):
        raise InvalidRequest(f"Invalid {param or 'body'}: must be a JSON object.")
    if not body.keys() <= allowed:
        unknown = next(key for key in body if key not in allowed)
        name = f"{param}[{unknown}]" if param else unknown
        raise InvalidRequest(
            f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
        )
    return body


def _event_param(index: int | None) -> str:
    return "" if index is None else f"events[{index}]"


def event_input(body: Any, index: int | None = None) -> services.EventInput:
    """One v2 event object (``events[index]`` of a stream) into an EventInput.

    Types are checked by the service; the parameter names of errors are only
    written when there is one (this runs 100 times per stream call).
    """
    if type(body) is not dict or not body.keys() <= _EVENT_KEYS:
        _object(body, _event_param(index), _EVENT_KEYS)
    timestamp = body.get("timestamp")
    if timestamp is not None:
        moment = _moment(timestamp)
        if moment is None:
            prefix = _event_param(index)
            parse_rfc3339(timestamp, f"{prefix}[timestamp]" if prefix else "timestamp")
        timestamp = moment
    return services.EventInput(
        body.get("event_name"),
        body.get("payload"),
        body.get("identifier"),
        timestamp,
    )


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


def _json_body(request) -> dict:
    """``V2View.body`` for a JSON request read without DRF (orjson, which is strict;
    Python's more lenient parser reads what it refuses, and explains a refusal)."""
    if not request.body:
        return {}
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        body = load_json(request.body)
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


class MeterEventStreamView(V2View):
    """``POST /v2/billing/meter_event_stream``: up to 100 events per call.

    JSON bodies (what the SDKs send) skip DRF's request wrapping and renderer, as
    ``MeterEventCreateView`` does; other content types take DRF's path.
    """

    authentication_classes: list = []
    permission_classes: list = []

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST" or request.content_type != "application/json":
            return super().dispatch(request, *args, **kwargs)
        status, data = stream_answer(request.headers.get("Authorization", ""), request)
        return json_response(data, status=status)

    @extend_schema(
        operation_id="CreateV2MeterEventStream",
        request=inline_serializer(
            "V2MeterEventStreamParams",
            {"events": serializers.ListField(child=_V2EventParams, max_length=100)},
        ),
        responses={200: OpenApiResponse(description="An empty object: {}")},
    )
    def post(self, request):
        stream_ingest(request.headers.get("Authorization", ""), self.body(request))
        return Response({})


def stream_answer(authorization: str, request) -> tuple[int, dict]:
    """(status, body) of a JSON stream call: ``{}``, or an error in the v2 envelope.

    Shared by the view and the lean WSGI lane (``metering.api.lane``).
    """
    try:
        stream_ingest(authorization, _json_body(request))
    except TallyError as error:
        return error.http_status, v2_error_body(error)
    except Exception as exc:
        logger.exception("Unhandled v2 API error", exc_info=exc)
        error = unexpected_error()
        return error.http_status, v2_error_body(error)
    return 200, {}


def _authenticate(authorization: str) -> services.sessions.SessionAuth:
    scheme, _, token = authorization.partition(" ")
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


def stream_ingest(authorization: str, body: dict) -> None:
    """Record a stream call's events, all or none (the first refusal is raised)."""
    auth = _authenticate(authorization)
    body = _object(body, "", frozenset({"events"}))
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
    now = clock.now()
    # The session's mode is the request's (it authenticates with no API key).
    with modes.scope(auth.livemode):
        fast = services.meter_events_ingest_documents(
            documents=items, now=now, unix_seconds=False, livemode=auth.livemode
        )
        if fast is not None:
            return
        # Some event is not plain: read each, refusing the call at the first error.
        events = [event_input(item, index) for index, item in enumerate(items)]
        services.meter_events_ingest_batch(
            events=events, now=now, livemode=auth.livemode, all_or_nothing=True
        )


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
        )
        return Response(s.v2_adjustment(adjustment))

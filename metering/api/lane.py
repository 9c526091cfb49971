"""Meter events through the lean WSGI lane (``core.api.lane``).

``POST /v1/billing/meter_events`` is the API's busiest endpoint: one event per
request, a thousand a second; ``POST /v2/billing/meter_event_stream`` takes a
hundred per request, twenty thousand a second. The lane serves them with the views'
own functions (``create_meter_event``, ``stream_answer``), so the answers are the
ones the views give; bodies of other types go to the views.
"""

from __future__ import annotations

import json

from core.api.lane import LaneRequest, LaneResponse
from metering.api.v2 import stream_answer
from metering.api.views import FAST_BODIES, body_params, create_meter_event


def meter_event_create(call: LaneRequest) -> LaneResponse | None:
    request = call.request
    if request.content_type not in FAST_BODIES:
        return None
    params = (
        body_params(call.body, request.content_type, request.encoding)
        if call.body
        else {}
    )
    data, replayed = create_meter_event(
        call.api_key, request.META.get("HTTP_IDEMPOTENCY_KEY"), params
    )
    content = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    headers = (("Idempotent-Replayed", "true"),) if replayed else ()
    return LaneResponse(200, content, headers)


def meter_event_stream(call: LaneRequest) -> LaneResponse | None:
    request = call.request
    if request.content_type != "application/json":
        return None
    status, data = stream_answer(request.META.get("HTTP_AUTHORIZATION", ""), request)
    content = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return LaneResponse(status, content)

"""The lean WSGI lane answers meter events (v1 and the v2 stream) as Django does.

Each request goes once through the lane (``config.wsgi.application``) and once
through Django alone (``config.wsgi.django_application``), with its own identifier:
statuses, header names and bodies must agree (ids and times aside), and the lane
must have served it itself, or handed it to Django untouched.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import time_machine

from config.wsgi import django_application
from core.api.lane import LaneApplication
from metering import errors
from tests.helpers import DjangoBehindLane

PATH = "/v1/billing/meter_events"
FORM = "application/x-www-form-urlencoded"


def _call(app, body: bytes, headers: dict, query: str = "", path: str = PATH):
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    content = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], json.loads(content)


@pytest.fixture
def both(secret_key):
    """Send a request through the lane and through Django; return both answers."""
    behind = DjangoBehindLane()
    lane = LaneApplication(behind)

    def send(params, *, json_body=False, headers=None, query="", served=True):
        behind.handed_over = 0
        answers = []
        # Both requests at one moment: an event's default timestamp is "now".
        frozen = time_machine.travel(datetime.now(UTC), tick=False)
        frozen.start()
        for app, tag in ((lane, "lane"), (django_application, "django")):
            fields = {**params}
            if "identifier" in fields:
                fields["identifier"] = f"{fields['identifier']}-{tag}"
            if json_body:
                body, kind = json.dumps(_nested(fields)).encode(), "application/json"
            else:
                body, kind = urlencode(fields).encode(), FORM
            sent = {"Authorization": f"Bearer {secret_key}", "Content-Type": kind}
            answers.append(_call(app, body, {**sent, **(headers or {})}, query))
        frozen.stop()
        assert behind.handed_over == (0 if served else 1)
        (status, headers_one, body_one), (status_two, headers_two, body_two) = answers
        assert status == status_two
        assert set(headers_one) == set(headers_two)
        assert _without_ids(body_one) == _without_ids(body_two)
        return status, headers_one, body_one

    return send


def _nested(fields: dict) -> dict:
    """Form fields such as ``payload[value]`` as the JSON object they stand for."""
    nested: dict = {}
    for key, value in fields.items():
        if "[" in key:
            outer, inner = key.rstrip("]").split("[")
            nested.setdefault(outer, {})[inner] = value
        else:
            nested[key] = value
    return nested


def _without_ids(body: dict) -> dict:
    body = json.loads(json.dumps(body))
    body.pop("identifier", None)
    body.pop("created", None)
    if "error" in body:
        body["error"]["message"] = body["error"]["message"].replace("-django", "")
        body["error"]["message"] = body["error"]["message"].replace("-lane", "")
    return body


def _recent(meter, customer) -> dict:
    """An event happening now (no timestamp): valid whatever the date."""
    return {
        "event_name": meter.event_name,
        "payload[stripe_customer_id]": customer.id,
        "payload[value]": "25",
        "identifier": "evt-1",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("json_body", [False, True])
def test_an_event_is_recorded_alike(both, meter, customer, json_body):
    status, headers, body = both(_recent(meter, customer), json_body=json_body)
    assert status == "200 OK"
    assert body["object"] == "billing.meter_event"
    assert body["payload"] == {"stripe_customer_id": customer.id, "value": "25"}
    assert headers["Request-Id"].startswith("req_")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert int(headers["Content-Length"]) > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"event_name": "nothing"}, errors.NO_METER),
        ({"payload[value]": "1.5"}, errors.INVALID_VALUE),
        ({"colour": "red"}, "parameter_unknown"),
        ({"timestamp": "soon"}, "parameter_invalid"),
        ({"payload[stripe_customer_id]": "cus_nobody"}, errors.CUSTOMER_NOT_FOUND),
    ],
)
def test_refusals_are_alike(both, meter, customer, change, code):
    status, headers, body = both({**_recent(meter, customer), **change})
    assert status == "400 Bad Request"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == code


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_is_refused_alike(both, meter, customer):
    both(_recent(meter, customer))
    status, _, body = both(_recent(meter, customer))
    assert status == "400 Bad Request"
    assert body["error"]["code"] == "duplicate_meter_event"


@pytest.mark.django_db(transaction=True)
def test_a_retry_with_the_idempotency_key_is_replayed(both, meter, customer):
    fields = _recent(meter, customer)
    first = both(fields, headers={"Idempotency-Key": "k-1"})
    again = both(fields, headers={"Idempotency-Key": "k-1"})
    assert "Idempotent-Replayed" not in first[1]
    assert again[1]["Idempotent-Replayed"] == "true"
    assert again[2] == first[2]


@pytest.mark.django_db(transaction=True)
def test_django_answers_what_the_lane_does_not_serve(both, meter, customer):
    status, _, body = both(
        _recent(meter, customer), headers={"Authorization": ""}, served=False
    )
    assert status == "401 Unauthorized"
    assert body["error"]["code"] == "api_key_invalid"


@pytest.mark.django_db(transaction=True)
def test_a_query_string_goes_to_django(both, meter, customer):
    status, _, body = both(_recent(meter, customer), query="expand[]=x", served=False)
    assert status == "400 Bad Request"


@pytest.fixture
def stream_token(db):
    from core import clock
    from metering import services

    _, token = services.meter_event_session_create(now=clock.now())
    return token


def _stream_both(token: str, events: list[dict]):
    """A stream call through the lane and through Django; both answers."""
    behind = DjangoBehindLane()
    answers = []
    for app, tag in ((LaneApplication(behind), "lane"), (django_application, "dj")):
        items = [
            {**event, "identifier": f"{event['identifier']}-{tag}"} for event in events
        ]
        environ_headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        body = json.dumps({"events": items}).encode()
        answers.append(
            _call(app, body, environ_headers, path="/v2/billing/meter_event_stream")
        )
    assert behind.handed_over == 0
    (status, headers, body), (status_two, headers_two, body_two) = answers
    assert (status, set(headers)) == (status_two, set(headers_two))
    assert body == body_two
    return status, body


@pytest.mark.django_db(transaction=True)
def test_the_stream_is_served_alike(meter, customer, stream_token):
    event = {
        "event_name": meter.event_name,
        "identifier": "s-1",
        "payload": {"stripe_customer_id": customer.id, "value": "4"},
    }
    assert _stream_both(stream_token, [event]) == ("200 OK", {})
    status, body = _stream_both(stream_token, [{**event, "event_name": "nothing"}])
    assert status == "400 Bad Request"
    assert body["error"]["code"] == errors.NO_METER
    status, body = _stream_both("mes_test_unknown", [event])
    assert status == "401 Unauthorized"
    assert set(body["error"]) == {"type", "code", "message"}

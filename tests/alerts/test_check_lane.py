"""The lean WSGI lane answers ``GET /v1/entitlements/check`` as Django does.

The plain form ``?customer=cus_...`` is served by the lane (``alerts.api.check``);
anything else is handed to Django untouched. Each request goes once through the
lane and once through Django alone: statuses, header names and bodies agree.
"""

from __future__ import annotations

import io
import json
import sys

import pytest
from django.test import override_settings

from alerts.services.limits import limits_evaluate
from config.wsgi import django_application
from core.api.lane import LaneApplication
from tests.alerts.factories import CustomerFactory, report
from tests.alerts.limits_helpers import d, make_plan, subscribe
from tests.helpers import DjangoBehindLane

PATH = "/v1/entitlements/check"


def _get(app, query: str, headers: dict):
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": PATH,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    for name, value in headers.items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    content = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], json.loads(content) if content else None


@pytest.fixture
def both(secret_key):
    """Send a check through the lane and through Django; return the lane's answer."""
    behind = DjangoBehindLane()
    lane = LaneApplication(behind)

    def send(query, *, headers=None, served=True):
        sent = {"Authorization": f"Bearer {secret_key}", **(headers or {})}
        behind.handed_over = 0
        lane_answer = _get(lane, query, sent)
        assert behind.handed_over == (0 if served else 1)
        django_answer = _get(django_application, query, sent)
        assert lane_answer[0] == django_answer[0]
        assert set(lane_answer[1]) == set(django_answer[1])
        assert lane_answer[2] == django_answer[2]
        return lane_answer

    return send


# The lane sends Django's request signals, which close the connection at the end.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customer():
    plan = make_plan()
    customer = CustomerFactory(invoice_prefix="LANE", currency="usd")
    subscribe(customer, plan.price)
    report(meter=plan.meter, customer=customer, value=40, now=d(4, 3))
    limits_evaluate(now=d(4, 3, 1), customer_ids=[customer.pk])
    return customer


def test_the_check_is_answered_alike_and_by_the_lane(both, customer):
    status, headers, body = both(f"customer={customer.pk}")
    assert status == "200 OK"
    assert body["object"] == "entitlements.check"
    assert body["features"] == ["api"]
    assert body["usage"][0]["value"] == 40
    assert headers["Cache-Control"] == "private, max-age=2"
    assert headers["Request-Id"].startswith("req_")
    assert headers["X-Content-Type-Options"] == "nosniff"

    status, again, body = both(
        f"customer={customer.pk}", headers={"If-None-Match": headers["ETag"]}
    )
    assert (status, body) == ("304 Not Modified", None)
    assert again["ETag"] == headers["ETag"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("customer=cus_missing", "404 Not Found"),
        ("customer=x&expand[]=usage", "400 Bad Request"),
        ("colour=red", "400 Bad Request"),
        ("customer=", "400 Bad Request"),
    ],
)
def test_what_the_lane_declines_django_answers(both, customer, query, status):
    answer_status, _, body = both(query, served=False)
    assert answer_status == status
    assert body["error"]["type"] == "invalid_request_error"


def test_a_missing_key_is_django_s_401(both, customer):
    status, _, body = both(
        f"customer={customer.pk}", headers={"Authorization": ""}, served=False
    )
    assert status == "401 Unauthorized"
    assert body["error"]["type"] == "invalid_request_error"


@override_settings(TALLY_RATE_LIMIT_READ=1, TALLY_RATE_LIMIT_REDIS_URL="")
def test_the_lane_keeps_the_key_s_read_rate_limit(secret_key, customer):
    lane = LaneApplication(DjangoBehindLane())
    headers = {"Authorization": f"Bearer {secret_key}"}
    statuses = [_get(lane, f"customer={customer.pk}", headers) for _ in range(3)]
    assert statuses[0][0] == "200 OK"
    status, sent, body = statuses[-1]
    assert status == "429 Too Many Requests"
    assert sent["Retry-After"] == "1"
    assert body["error"]["code"] == "rate_limit"

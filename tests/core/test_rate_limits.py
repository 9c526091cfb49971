"""Per-key API rate limits: 429 in Stripe's shape with Retry-After, reads and writes
apart, a sliding window, each key its own, ingestion exempt; Redis or in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.services.api_keys import api_key_create
from tests.helpers import ApiClient

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 12, 0, 0, 100_000, tzinfo=UTC)


@pytest.fixture(params=["in-process", "redis"])
def limits(request, settings):
    if request.param == "redis":
        if not settings.CELERY_BROKER_URL.startswith("redis"):
            pytest.skip("needs Redis")
        settings.TALLY_RATE_LIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    else:
        settings.TALLY_RATE_LIMIT_REDIS_URL = ""
    settings.TALLY_RATE_LIMIT_READ = 5
    settings.TALLY_RATE_LIMIT_WRITE = 3
    return settings


def _client(client) -> ApiClient:
    _, secret = api_key_create(name="limited")
    return ApiClient(client, secret)


def test_writes_past_the_limit_are_a_429_with_retry_after(limits, client):
    api = _client(client)
    with time_machine.travel(T0, tick=False):
        for index in range(3):
            assert api.post("/v1/customers", {"name": f"c{index}"}).status_code == 200
        refused = api.post("/v1/customers", {"name": "one too many"})
        assert refused.status_code == 429
        assert refused["Retry-After"] == "1"
        assert refused.json()["error"] == {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": (
                "Too many write requests with this API key: at most 3 per second. "
                "Please retry after a short pause."
            ),
            "param": None,
        }
        # Reads count apart.
        for _ in range(5):
            assert api.get("/v1/customers").status_code == 200
        assert api.get("/v1/customers").status_code == 429


def test_the_window_slides(limits, client):
    api = _client(client)
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            api.get("/v1/customers")
    # Half a second later, half of the last second's requests still count.
    with time_machine.travel(T0 + timedelta(seconds=1.4), tick=False):
        assert api.get("/v1/customers").status_code == 200  # 5 × 0.5 + 1 ≤ 5
        assert api.get("/v1/customers").status_code == 200  # 2.5 + 2 ≤ 5
        assert api.get("/v1/customers").status_code == 429  # 2.5 + 3 > 5
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        assert api.get("/v1/customers").status_code == 200


def test_each_key_has_its_own_limit_and_ingestion_is_exempt(limits, client):
    first, second = _client(client), _client(client)
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            first.get("/v1/customers")
        assert first.get("/v1/customers").status_code == 429
        assert second.get("/v1/customers").status_code == 200
        for index in range(10):
            response = first.post(
                "/v1/billing/meter_events",
                {"event_name": "nothing", "payload": {"value": "1"}},
            )
            assert response.status_code != 429, index


def test_an_unreachable_redis_lets_requests_through(settings, client):
    settings.TALLY_RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.TALLY_RATE_LIMIT_READ = 1
    api = _client(client)
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            assert api.get("/v1/customers").status_code == 200


def test_the_stripe_sdk_raises_its_rate_limit_error(settings, stripe_sdk):
    import stripe

    settings.TALLY_RATE_LIMIT_REDIS_URL = ""
    settings.TALLY_RATE_LIMIT_READ = 1
    with time_machine.travel(T0, tick=False):
        stripe_sdk.Customer.list()
        with pytest.raises(stripe.RateLimitError):
            stripe_sdk.Customer.list()

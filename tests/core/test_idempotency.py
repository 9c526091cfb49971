"""Idempotency-Key: replay, mismatch, concurrency, expiry."""

from datetime import timedelta

from core import clock
from core.models import Customer, IdempotencyKey
from core.services.idempotency import idempotency_keys_prune
from tests.helpers import error_of


def test_replay_returns_the_first_response(api):
    headers = {"Idempotency-Key": "key-1"}
    first = api.post("/v1/customers", {"name": "Jenny"}, headers=headers)
    second = api.post("/v1/customers", {"name": "Jenny"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Customer.objects.count() == 1


def test_parameter_order_does_not_matter(api):
    headers = {"Idempotency-Key": "key-order"}
    first = api.post(
        "/v1/customers", {"name": "J", "email": "j@example.com"}, headers=headers
    )
    body = "email=j%40example.com&name=J"
    second = api.client.post(
        "/v1/customers",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
        HTTP_IDEMPOTENCY_KEY="key-order",
    )
    assert second.json()["id"] == first.json()["id"]


def test_other_parameters_are_refused(api):
    headers = {"Idempotency-Key": "key-2"}
    api.post("/v1/customers", {"name": "Jenny"}, headers=headers)
    response = api.post("/v1/customers", {"name": "Other"}, headers=headers)
    assert response.status_code == 400
    assert error_of(response)["type"] == "idempotency_error"


def test_other_endpoint_is_refused(api):
    headers = {"Idempotency-Key": "key-3"}
    api.post("/v1/customers", {"name": "Jenny"}, headers=headers)
    response = api.post(
        "/v1/test_helpers/test_clocks", {"name": "Jenny"}, headers=headers
    )
    assert error_of(response)["type"] == "idempotency_error"


def test_concurrent_duplicate_gets_409(api):
    from core.models import ApiKey

    first = api.post(
        "/v1/customers", {"name": "x"}, headers={"Idempotency-Key": "busy"}
    )
    record = IdempotencyKey.objects.get(key="busy")
    # Pretend the first request is still running.
    IdempotencyKey.objects.filter(pk=record.pk).update(
        status="in_progress", created=clock.now()
    )
    response = api.post(
        "/v1/customers", {"name": "x"}, headers={"Idempotency-Key": "busy"}
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "idempotency_key_in_use"
    assert first.status_code == 200
    assert ApiKey.objects.count() == 1


def test_stale_claim_is_taken_over(api):
    api.post("/v1/customers", {"name": "x"}, headers={"Idempotency-Key": "stale"})
    IdempotencyKey.objects.filter(key="stale").update(
        status="in_progress", created=clock.now() - timedelta(minutes=5)
    )
    response = api.post(
        "/v1/customers", {"name": "x"}, headers={"Idempotency-Key": "stale"}
    )
    assert response.status_code == 200
    assert Customer.objects.count() == 2


def test_validation_errors_are_not_stored(api):
    headers = {"Idempotency-Key": "fix-me"}
    assert (
        api.post("/v1/customers", {"email": "bad"}, headers=headers).status_code == 400
    )
    fixed = api.post("/v1/customers", {"email": "good@example.com"}, headers=headers)
    assert fixed.status_code == 200


def test_expired_keys_run_again(api):
    headers = {"Idempotency-Key": "old"}
    first = api.post("/v1/customers", {"name": "x"}, headers=headers).json()
    IdempotencyKey.objects.update(created=clock.now() - timedelta(hours=25))
    second = api.post("/v1/customers", {"name": "x"}, headers=headers).json()
    assert first["id"] != second["id"]


def test_kept_for_a_day_then_pruned(api):
    api.post("/v1/customers", {"name": "x"}, headers={"Idempotency-Key": "keep"})
    assert idempotency_keys_prune(now=clock.now() + timedelta(hours=23)) == 0
    assert idempotency_keys_prune(now=clock.now() + timedelta(hours=25)) == 1


def test_keys_are_scoped_per_api_key(api, db):
    from django.test import Client

    from core.services.api_keys import api_key_create
    from tests.helpers import ApiClient

    _, other_secret = api_key_create(name="other")
    other = ApiClient(Client(), other_secret)
    a = api.post("/v1/customers", {"name": "a"}, headers={"Idempotency-Key": "shared"})
    b = other.post(
        "/v1/customers", {"name": "b"}, headers={"Idempotency-Key": "shared"}
    )
    assert a.json()["id"] != b.json()["id"]


def test_too_long_key(api):
    response = api.post("/v1/customers", {}, headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400

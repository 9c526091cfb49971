"""The official stripe SDK against a live server: customers, idempotency, errors."""

import pytest


def test_customer_lifecycle(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(
        name="Jenny Rosen",
        email="jenny.rosen@example.com",
        address={"city": "Berlin", "country": "DE"},
        metadata={"plan": "pro"},
        preferred_locales=["de"],
    )
    assert isinstance(customer, stripe.Customer)
    assert customer.id.startswith("cus_")
    assert customer.address.city == "Berlin"

    fetched = stripe.Customer.retrieve(customer.id)
    assert fetched.email == "jenny.rosen@example.com"
    assert fetched.metadata.to_dict() == {"plan": "pro"}

    updated = stripe.Customer.modify(
        customer.id, name="Jenny R.", metadata={"plan": ""}
    )
    assert updated.name == "Jenny R."
    assert updated.metadata.to_dict() == {}

    deleted = stripe.Customer.delete(customer.id)
    assert deleted.deleted is True
    assert stripe.Customer.retrieve(customer.id).deleted is True


def test_auto_paging_over_many_customers(stripe_sdk):
    stripe = stripe_sdk
    created = [stripe.Customer.create(name=f"Customer {i}").id for i in range(27)]
    seen = [c.id for c in stripe.Customer.list(limit=10).auto_paging_iter()]
    assert len(seen) == 27
    assert set(seen) == set(created)
    assert seen == list(reversed(created))


def test_idempotent_replay(stripe_sdk):
    stripe = stripe_sdk
    first = stripe.Customer.create(name="Once", idempotency_key="sdk-key-1")
    second = stripe.Customer.create(name="Once", idempotency_key="sdk-key-1")
    assert first.id == second.id
    assert len(stripe.Customer.list(limit=100).data) == 1


def test_idempotency_error(stripe_sdk):
    stripe = stripe_sdk
    stripe.Customer.create(name="A", idempotency_key="sdk-key-2")
    with pytest.raises(stripe.IdempotencyError):
        stripe.Customer.create(name="B", idempotency_key="sdk-key-2")


def test_unknown_id(stripe_sdk):
    stripe = stripe_sdk
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.Customer.retrieve("cus_doesnotexist")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"


def test_invalid_parameter(stripe_sdk):
    stripe = stripe_sdk
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.Customer.create(email="not-an-email")
    assert info.value.param == "email"
    assert info.value.http_status == 400


def test_wrong_key(stripe_sdk):
    stripe = stripe_sdk
    with pytest.raises(stripe.AuthenticationError):
        stripe.Customer.list(api_key="sk_test_wrong_key_123456")


def test_stripe_client_and_test_clocks(stripe_client):
    test_clock = stripe_client.v1.test_helpers.test_clocks.create(
        {"frozen_time": 1767225600, "name": "sdk"}
    )
    customer = stripe_client.v1.customers.create({"test_clock": test_clock.id})
    assert customer.test_clock == test_clock.id
    advanced = stripe_client.v1.test_helpers.test_clocks.advance(
        test_clock.id, {"frozen_time": 1767225600 + 86400}
    )
    assert advanced.status in {"advancing", "ready"}
    assert (
        stripe_client.v1.test_helpers.test_clocks.retrieve(test_clock.id).status
        == "ready"
    )

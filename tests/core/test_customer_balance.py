"""The customer balance ledger: the API, ``balance`` on customers, and the
invariant that ``customer.balance`` is the sum of its rows (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Customer, CustomerBalanceTransaction
from core.services.balance import (
    BalanceMove,
    balance_move,
    customer_balance_transaction_create,
)
from core.services.customers import customer_create, customer_update
from tests.core.factories import CustomerFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def ledger(customer) -> list[tuple[str, int, int]]:
    return list(
        CustomerBalanceTransaction.objects.filter(customer=customer)
        .order_by("sequence")
        .values_list("type", "amount", "ending_balance")
    )


def assert_balanced(customer) -> None:
    customer = Customer.objects.get(pk=customer.pk)
    rows = ledger(customer)
    assert customer.balance == sum(amount for _, amount, _ in rows)
    running = 0
    for _, amount, ending in rows:
        running += amount
        assert ending == running


@pytest.mark.django_db
def test_api_create_retrieve_update_list(api):
    customer = CustomerFactory()
    url = f"/v1/customers/{customer.pk}/balance_transactions"
    first = api.post(
        url,
        {"amount": -2500, "currency": "usd", "description": "SLA credit"},
    ).json()
    assert first["object"] == "customer_balance_transaction"
    assert (first["type"], first["amount"], first["ending_balance"]) == (
        "adjustment",
        -2500,
        -2500,
    )
    assert (first["currency"], first["customer"], first["invoice"]) == (
        "usd",
        customer.pk,
        None,
    )
    second = api.post(url, {"amount": 1000, "currency": "USD"}).json()
    assert second["ending_balance"] == -1500
    body = api.get(f"/v1/customers/{customer.pk}").json()
    assert (body["balance"], body["currency"]) == (-1500, "usd")
    listed = api.get(url).json()
    assert [row["id"] for row in listed["data"]] == [second["id"], first["id"]]
    updated = api.post(
        f"{url}/{first['id']}", {"description": "SLA", "metadata": {"case": "9"}}
    ).json()
    assert (updated["description"], updated["metadata"], updated["amount"]) == (
        "SLA",
        {"case": "9"},
        -2500,
    )
    assert api.get(f"{url}/{first['id']}").json()["description"] == "SLA"
    assert_balanced(customer)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": 0, "currency": "usd"}, "amount"),
        ({"amount": 100}, "currency"),
        ({"currency": "usd"}, "amount"),
        ({"amount": "1.5", "currency": "usd"}, "amount"),
        ({"amount": 100, "currency": "eur"}, "currency"),
        ({"amount": 100, "currency": "usd", "type": "initial"}, "type"),
    ],
)
def test_api_refuses_bad_input(api, params, param):
    customer = CustomerFactory(currency="usd")
    response = api.post(f"/v1/customers/{customer.pk}/balance_transactions", params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == param
    assert not CustomerBalanceTransaction.objects.exists()
    assert Customer.objects.get(pk=customer.pk).balance == 0


@pytest.mark.django_db
def test_api_missing_objects(api):
    customer = CustomerFactory()
    other = CustomerFactory()
    entry = customer_balance_transaction_create(
        customer=other, params={"amount": 5, "currency": "usd"}, now=NOW
    )
    url = f"/v1/customers/{customer.pk}/balance_transactions"
    assert api.get(f"{url}/{entry.pk}").status_code == 404
    assert api.get("/v1/customers/cus_nope/balance_transactions").status_code == 404


@pytest.mark.django_db
def test_balance_on_customer_create_and_update_goes_through_the_ledger(api):
    body = api.post("/v1/customers", {"name": "A", "balance": -500}).json()
    customer = Customer.objects.get(pk=body["id"])
    assert body["balance"] == -500
    assert ledger(customer) == [("initial", -500, -500)]
    api.post(f"/v1/customers/{customer.pk}", {"balance": 200})
    api.post(f"/v1/customers/{customer.pk}", {"balance": 200})  # no change, no row
    assert ledger(customer) == [("initial", -500, -500), ("adjustment", 700, 200)]
    assert_balanced(customer)


@pytest.mark.django_db
def test_a_movement_emits_customer_updated(api):
    customer = CustomerFactory()
    api.post(
        f"/v1/customers/{customer.pk}/balance_transactions",
        {"amount": -100, "currency": "usd"},
    )
    event = api.get("/v1/events", {"type": "customer.updated"}).json()["data"][0]
    assert event["data"]["object"]["balance"] == -100
    assert event["data"]["previous_attributes"]["balance"] == 0


moves = st.lists(
    st.one_of(
        st.tuples(st.just("move"), st.integers(-(10**9), 10**9).filter(bool)),
        st.tuples(st.just("set"), st.integers(-(10**9), 10**9)),
    ),
    max_size=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=moves)
def test_balance_is_always_the_ledger_sum(db, steps):
    customer = customer_create(params={"name": "H", "balance": 0})
    for kind, value in steps:
        if kind == "move":
            balance_move(
                customer_id=customer.pk,
                move=BalanceMove(type="adjustment", amount=value, currency="usd"),
                now=NOW,
            )
        else:
            customer_update(customer=customer, params={"balance": value})
    assert_balanced(customer)

"""``/v1/payment_methods`` and customers' payment methods through the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import Subscription
from core.models import Customer, Event
from payments.models import PaymentMethod
from tests.billing.factories import PriceFactory

pytestmark = pytest.mark.django_db


def _customer(api) -> str:
    response = api.post("/v1/customers", {"name": "Jenny", "email": "j@example.com"})
    return response.json()["id"]


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_create_from_a_token_shows_the_card_without_its_number(api):
    response = api.post(
        "/v1/payment_methods",
        {
            "type": "card",
            "card": {"token": "tok_visa"},
            "billing_details": {"name": "Jenny Rosen"},
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"].startswith("pm_")
    assert body["object"] == "payment_method"
    assert body["type"] == "card"
    assert body["customer"] is None
    assert body["livemode"] is False
    assert body["billing_details"]["name"] == "Jenny Rosen"
    card = body["card"]
    assert (card["brand"], card["last4"], card["exp_month"]) == ("visa", "4242", 12)
    assert card["exp_year"] > 2026
    assert "number" not in card


@pytest.mark.parametrize(
    ("params", "status", "param"),
    [
        ({"type": "card", "card": {"number": "4242424242424242"}}, 400, "card[number]"),
        ({"type": "card", "card": {"token": "tok_nonsense"}}, 400, "card[token]"),
        ({"type": "card"}, 400, "card[token]"),
        ({"type": "sepa_debit", "card": {"token": "tok_visa"}}, 400, "type"),
    ],
)
def test_bad_creations_are_refused_and_write_nothing(api, params, status, param):
    error = _error(api.post("/v1/payment_methods", params), status)
    assert error["param"] == param
    assert PaymentMethod.objects.count() == 0


def test_attach_a_test_card_name_list_retrieve_detach(api):
    customer = _customer(api)
    response = api.post(
        "/v1/payment_methods/pm_card_mastercard/attach", {"customer": customer}
    )
    assert response.status_code == 200, response.content
    method = response.json()
    assert method["customer"] == customer
    assert method["card"]["brand"] == "mastercard"
    listed = api.get(f"/v1/customers/{customer}/payment_methods").json()
    assert [row["id"] for row in listed["data"]] == [method["id"]]
    assert (
        api.get(f"/v1/customers/{customer}/payment_methods/{method['id']}").status_code
        == 200
    )
    assert api.get("/v1/payment_methods", {"customer": customer}).json()["data"]
    detached = api.post(f"/v1/payment_methods/{method['id']}/detach").json()
    assert detached["customer"] is None
    assert not api.get(f"/v1/customers/{customer}/payment_methods").json()["data"]
    types = list(Event.objects.values_list("type", flat=True))
    assert "payment_method.attached" in types
    assert "payment_method.detached" in types
    # Detaching again is refused.
    error = _error(api.post(f"/v1/payment_methods/{method['id']}/detach"), 400)
    assert error["code"] == "payment_method_unexpected_state"


def test_attaching_anothers_method_or_an_unknown_one_is_refused(api):
    first, second = _customer(api), _customer(api)
    method = api.post(
        "/v1/payment_methods/pm_card_visa/attach", {"customer": first}
    ).json()
    error = _error(
        api.post(f"/v1/payment_methods/{method['id']}/attach", {"customer": second}),
        400,
    )
    assert error["code"] == "payment_method_unexpected_state"
    _error(api.post("/v1/payment_methods/pm_missing/attach", {"customer": first}), 404)
    _error(
        api.post(f"/v1/payment_methods/{method['id']}/attach", {"customer": "cus_x"}),
        404,
    )
    assert PaymentMethod.objects.get().customer_id == first
    other = api.get(f"/v1/customers/{second}/payment_methods/{method['id']}")
    assert other.status_code == 404


def test_the_customers_invoice_default_must_be_one_of_its_methods(api):
    customer, other = _customer(api), _customer(api)
    method = api.post(
        "/v1/payment_methods/pm_card_visa/attach", {"customer": customer}
    ).json()["id"]
    foreign = api.post(
        "/v1/payment_methods/pm_card_visa/attach", {"customer": other}
    ).json()["id"]
    for bad, status in ((foreign, 400), ("pm_unknown", 404)):
        response = api.post(
            f"/v1/customers/{customer}",
            {"invoice_settings": {"default_payment_method": bad}},
        )
        error = _error(response, status)
        assert error["param"] == "invoice_settings[default_payment_method]"
    assert Customer.objects.get(pk=customer).invoice_settings == {}
    body = api.post(
        f"/v1/customers/{customer}",
        {"invoice_settings": {"default_payment_method": method}},
    ).json()
    assert body["invoice_settings"]["default_payment_method"] == method
    # Detaching the default clears it.
    api.post(f"/v1/payment_methods/{method}/detach")
    body = api.get(f"/v1/customers/{customer}").json()
    assert body["invoice_settings"]["default_payment_method"] is None


def test_subscription_default_payment_method(api):
    customer = _customer(api)
    method = api.post(
        "/v1/payment_methods/pm_card_visa/attach", {"customer": customer}
    ).json()["id"]
    price = PriceFactory(unit_amount_decimal=Decimal(1_000)).pk
    error = _error(
        api.post(
            "/v1/subscriptions",
            {
                "customer": customer,
                "items": [{"price": price}],
                "default_payment_method": "pm_unknown",
            },
        ),
        404,
    )
    assert error["param"] == "default_payment_method"
    assert not Subscription.objects.exists()
    sub = api.post(
        "/v1/subscriptions",
        {
            "customer": customer,
            "items": [{"price": price}],
            "default_payment_method": method,
        },
    ).json()
    assert sub["default_payment_method"] == method
    # Its first invoice was charged to that card at finalization.
    invoice = api.get(f"/v1/invoices/{sub['latest_invoice']}").json()
    assert invoice["status"] == "paid"
    assert invoice["attempted"] is True
    assert invoice["attempt_count"] == 1
    assert invoice["amount_paid"] == 1_000
    cleared = api.post(
        f"/v1/subscriptions/{sub['id']}", {"default_payment_method": ""}
    ).json()
    assert cleared["default_payment_method"] is None


def test_update_billing_details_expiry_and_metadata(api):
    method = api.post(
        "/v1/payment_methods", {"type": "card", "card": {"token": "tok_visa"}}
    ).json()["id"]
    body = api.post(
        f"/v1/payment_methods/{method}",
        {
            "billing_details": {"email": "ap@example.com"},
            "card": {"exp_month": 3, "exp_year": 2031},
            "metadata": {"source": "portal"},
        },
    ).json()
    assert body["billing_details"]["email"] == "ap@example.com"
    assert (body["card"]["exp_month"], body["card"]["exp_year"]) == (3, 2031)
    assert body["metadata"] == {"source": "portal"}
    assert "payment_method.updated" in Event.objects.values_list("type", flat=True)

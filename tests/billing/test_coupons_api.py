"""``/v1/coupons``, ``/v1/promotion_codes`` and ``discounts`` through the API:
Stripe's shapes, events, and bad input refused with a 4xx and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.models import Coupon, Discount, Invoice, PromotionCode
from core.models import Event
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

FUTURE = int((datetime.now(UTC) + timedelta(days=30)).timestamp())
PAST = int((datetime.now(UTC) - timedelta(days=1)).timestamp())


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def refused(response, status=400) -> dict:
    assert response.status_code == status, response.content
    return error_of(response)


def event_types() -> list[str]:
    return list(Event.objects.order_by("created", "id").values_list("type", flat=True))


def test_coupon_create_retrieve_update_list_delete(api):
    coupon = ok(
        api.post(
            "/v1/coupons",
            {
                "id": "SPRING25",
                "percent_off": "25.5",
                "duration": "repeating",
                "duration_in_months": 3,
                "max_redemptions": 10,
                "redeem_by": FUTURE,
                "name": "Spring",
                "metadata": {"campaign": "spring"},
            },
        )
    )
    assert coupon["id"] == "SPRING25"
    assert coupon["object"] == "coupon"
    assert coupon["percent_off"] == 25.5
    assert (coupon["amount_off"], coupon["currency"]) == (None, None)
    assert (coupon["duration"], coupon["duration_in_months"]) == ("repeating", 3)
    assert (coupon["times_redeemed"], coupon["valid"]) == (0, True)
    assert coupon["redeem_by"] == FUTURE
    assert coupon["livemode"] is False
    assert ok(api.get("/v1/coupons/SPRING25")) == coupon

    updated = ok(api.post("/v1/coupons/SPRING25", {"name": "Spring sale"}))
    assert updated["name"] == "Spring sale"
    refused(api.post("/v1/coupons/SPRING25", {"percent_off": 50}))

    amount = ok(api.post("/v1/coupons", {"amount_off": 500, "currency": "usd"}))
    assert (amount["amount_off"], amount["currency"], amount["duration"]) == (
        500,
        "usd",
        "once",
    )
    listed = ok(api.get("/v1/coupons"))
    assert [c["id"] for c in listed["data"]] == [amount["id"], "SPRING25"]

    assert ok(api.delete("/v1/coupons/SPRING25")) == {
        "id": "SPRING25",
        "object": "coupon",
        "deleted": True,
    }
    refused(api.get("/v1/coupons/SPRING25"), 404)
    assert event_types() == [
        "coupon.created",
        "coupon.updated",
        "coupon.created",
        "coupon.deleted",
    ]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"percent_off": 0}, "percent_off"),
        ({"percent_off": "100.01"}, "percent_off"),
        ({"percent_off": -5}, "percent_off"),
        ({}, "percent_off"),
        ({"amount_off": 500}, "currency"),
        ({"amount_off": 0, "currency": "usd"}, "amount_off"),
        ({"percent_off": 10, "amount_off": 500, "currency": "usd"}, "amount_off"),
        ({"percent_off": 10, "duration": "repeating"}, "duration_in_months"),
        ({"percent_off": 10, "duration_in_months": 2}, "duration_in_months"),
        ({"percent_off": 10, "redeem_by": PAST}, "redeem_by"),
        ({"percent_off": 10, "applies_to": {"products": ["prod_nope"]}}, None),
    ],
)
def test_bad_coupons_are_refused_and_nothing_is_written(api, params, param):
    error = refused(api.post("/v1/coupons", params))
    if param:
        assert error["param"] == param
    assert not Coupon.objects.exists()
    assert not Event.objects.exists()


def test_a_taken_coupon_id_is_refused(api):
    ok(api.post("/v1/coupons", {"id": "DUP", "percent_off": 10}))
    error = refused(api.post("/v1/coupons", {"id": "DUP", "percent_off": 20}))
    assert error["code"] == "resource_already_exists"


def test_promotion_codes_create_list_filter_update(api):
    coupon = ok(api.post("/v1/coupons", {"percent_off": 10}))["id"]
    customer = CustomerFactory()
    code = ok(
        api.post(
            "/v1/promotion_codes",
            {
                "promotion": {"type": "coupon", "coupon": coupon},
                "code": "Welcome-10",
                "customer": customer.pk,
                "max_redemptions": 5,
                "expires_at": FUTURE,
                "restrictions": {
                    "first_time_transaction": True,
                    "minimum_amount": 2000,
                    "minimum_amount_currency": "usd",
                },
            },
        )
    )
    assert code["id"].startswith("promo_")
    assert code["promotion"] == {"type": "coupon", "coupon": coupon}
    assert code["coupon"]["id"] == coupon
    assert code["restrictions"]["minimum_amount"] == 2000
    assert (code["active"], code["times_redeemed"], code["customer"]) == (
        True,
        0,
        customer.pk,
    )
    legacy = ok(api.post("/v1/promotion_codes", {"coupon": coupon, "code": "OTHER"}))
    assert legacy["promotion"]["coupon"] == coupon

    # Codes are unique among active ones, whatever their case.
    error = refused(
        api.post("/v1/promotion_codes", {"coupon": coupon, "code": "WELCOME-10"})
    )
    assert error["code"] == "resource_already_exists"

    by_code = ok(api.get("/v1/promotion_codes", {"code": "welcome-10"}))["data"]
    assert [c["id"] for c in by_code] == [code["id"]]
    by_customer = ok(api.get("/v1/promotion_codes", {"customer": customer.pk}))["data"]
    assert [c["id"] for c in by_customer] == [code["id"]]
    assert len(ok(api.get("/v1/promotion_codes", {"coupon": coupon}))["data"]) == 2

    off = ok(api.post(f"/v1/promotion_codes/{code['id']}", {"active": False}))
    assert off["active"] is False
    assert (
        ok(api.get("/v1/promotion_codes", {"active": "false"}))["data"][0]["id"]
        == (code["id"])
    )
    # Inactive, its code is free again.
    ok(api.post("/v1/promotion_codes", {"coupon": coupon, "code": "WELCOME-10"}))
    assert "promotion_code.updated" in event_types()


def test_customer_coupon_and_delete_discount(api):
    coupon = ok(api.post("/v1/coupons", {"percent_off": 20, "duration": "forever"}))
    customer = ok(api.post("/v1/customers", {"name": "Jenny", "coupon": coupon["id"]}))
    discount = customer["discount"]
    assert discount["object"] == "discount"
    assert discount["id"].startswith("di_")
    assert discount["coupon"]["id"] == coupon["id"]
    assert discount["source"] == {"type": "coupon", "coupon": coupon["id"]}
    assert (discount["customer"], discount["subscription"]) == (customer["id"], None)
    assert ok(api.get(f"/v1/coupons/{coupon['id']}"))["times_redeemed"] == 1

    other = ok(api.post("/v1/coupons", {"amount_off": 300, "currency": "usd"}))
    updated = ok(api.post(f"/v1/customers/{customer['id']}", {"coupon": other["id"]}))
    assert updated["discount"]["coupon"]["id"] == other["id"]

    removed = ok(api.delete(f"/v1/customers/{customer['id']}/discount"))
    assert (removed["object"], removed["deleted"]) == ("discount", True)
    assert ok(api.get(f"/v1/customers/{customer['id']}"))["discount"] is None
    refused(api.delete(f"/v1/customers/{customer['id']}/discount"), 404)
    types = event_types()
    assert types.count("customer.discount.created") == 1
    assert types.count("customer.discount.updated") == 1
    assert types.count("customer.discount.deleted") == 1


def test_subscription_discounts_expand_and_delete(api):
    customer = CustomerFactory()
    price = PriceFactory()
    coupon = ok(api.post("/v1/coupons", {"percent_off": 50, "duration": "forever"}))
    code = ok(api.post("/v1/promotion_codes", {"coupon": coupon["id"]}))
    sub = ok(
        api.post(
            "/v1/subscriptions",
            {
                "customer": customer.pk,
                "items": [{"price": price.pk}],
                "discounts": [{"promotion_code": code["id"]}],
                "expand": ["discounts", "latest_invoice"],
            },
        )
    )
    (discount,) = sub["discounts"]
    assert discount["promotion_code"] == code["id"]
    assert discount["subscription"] == sub["id"]
    invoice = sub["latest_invoice"]
    assert (invoice["subtotal"], invoice["total"]) == (1000, 500)
    assert invoice["discounts"] == [discount["id"]]
    assert invoice["total_discount_amounts"] == [
        {"amount": 500, "discount": discount["id"]}
    ]
    assert invoice["lines"]["data"][0]["discount_amounts"] == [
        {"amount": 500, "discount": discount["id"]}
    ]
    assert ok(api.get(f"/v1/promotion_codes/{code['id']}"))["times_redeemed"] == 1

    # Keeping it by id redeems nothing more.
    kept = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            {"discounts": [{"discount": discount["id"]}]},
        )
    )
    assert kept["discounts"] == [discount["id"]]
    assert ok(api.get(f"/v1/coupons/{coupon['id']}"))["times_redeemed"] == 1

    removed = ok(api.delete(f"/v1/subscriptions/{sub['id']}/discount"))
    assert removed["id"] == discount["id"]
    assert ok(api.get(f"/v1/subscriptions/{sub['id']}"))["discounts"] == []


def test_invoice_and_item_discounts_on_a_draft(api):
    customer = CustomerFactory()
    coupon = ok(api.post("/v1/coupons", {"percent_off": 10}))["id"]
    invoice = ok(api.post("/v1/invoices", {"customer": customer.pk, "currency": "usd"}))
    ok(
        api.post(
            "/v1/invoiceitems",
            {
                "customer": customer.pk,
                "invoice": invoice["id"],
                "amount": 5000,
                "currency": "usd",
            },
        )
    )
    euros = ok(api.post("/v1/coupons", {"amount_off": 100, "currency": "eur"}))["id"]
    error = refused(
        api.post(f"/v1/invoices/{invoice['id']}", {"discounts": [{"coupon": euros}]})
    )
    assert error["param"] == "discounts[0][coupon]"
    assert not Discount.objects.exists()
    draft = ok(
        api.post(f"/v1/invoices/{invoice['id']}", {"discounts": [{"coupon": coupon}]})
    )
    assert len(draft["discounts"]) == 1
    final = ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    assert (final["subtotal"], final["total"], final["amount_due"]) == (
        5000,
        4500,
        4500,
    )
    error = refused(
        api.post(f"/v1/invoices/{invoice['id']}", {"discounts": [{"coupon": coupon}]})
    )
    assert error["code"] == "invoice_not_editable"


def _code(api, **params) -> dict:
    coupon = ok(api.post("/v1/coupons", {"percent_off": 10}))["id"]
    return ok(api.post("/v1/promotion_codes", {"coupon": coupon, **params}))


def _subscribe(api, customer, price, entry):
    return api.post(
        "/v1/subscriptions",
        {"customer": customer.pk, "items": [{"price": price.pk}], "discounts": [entry]},
    )


@pytest.mark.parametrize(
    "case",
    ["expired", "inactive", "over_redeemed", "other_customer", "first_time", "minimum"],
)
def test_promotion_code_restrictions_refuse_and_write_nothing(api, case):
    customer, price = CustomerFactory(), PriceFactory()  # 10.00 a month
    params = {
        "expired": {},
        "inactive": {"active": False},
        "over_redeemed": {"max_redemptions": 1},
        "other_customer": {"customer": CustomerFactory().pk},
        "first_time": {"restrictions": {"first_time_transaction": True}},
        "minimum": {
            "restrictions": {"minimum_amount": 1001, "minimum_amount_currency": "usd"}
        },
    }[case]
    code = _code(api, **params)
    if case == "expired":
        PromotionCode.objects.filter(pk=code["id"]).update(
            expires_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
    if case == "over_redeemed":
        ok(_subscribe(api, CustomerFactory(), price, {"promotion_code": code["id"]}))
    if case == "first_time":
        ok(
            api.post(
                "/v1/subscriptions",
                {"customer": customer.pk, "items": [{"price": price.pk}]},
            )
        )
        paid = Invoice.objects.get(customer=customer)
        ok(api.post(f"/v1/invoices/{paid.pk}/pay", {"paid_out_of_band": True}))
    subscriptions, discounts = customer.subscriptions.count(), Discount.objects.count()
    redeemed = PromotionCode.objects.get(pk=code["id"]).times_redeemed
    error = refused(_subscribe(api, customer, price, {"promotion_code": code["id"]}))
    assert error["param"] == "discounts[0][promotion_code]"
    assert customer.subscriptions.count() == subscriptions
    assert Discount.objects.count() == discounts
    assert PromotionCode.objects.get(pk=code["id"]).times_redeemed == redeemed


def test_coupon_errors_on_subscriptions(api):
    customer, price = CustomerFactory(), PriceFactory()
    euros = ok(api.post("/v1/coupons", {"amount_off": 500, "currency": "eur"}))["id"]
    error = refused(_subscribe(api, customer, price, {"coupon": euros}))
    assert error["param"] == "discounts[0][coupon]"
    one = ok(api.post("/v1/coupons", {"percent_off": 5, "max_redemptions": 1}))["id"]
    ok(_subscribe(api, CustomerFactory(), price, {"coupon": one}))
    error = refused(_subscribe(api, customer, price, {"coupon": one}))
    assert error["code"] == "coupon_expired"
    refused(_subscribe(api, customer, price, {"coupon": "nope"}))
    error = refused(
        _subscribe(api, customer, price, {"coupon": euros, "promotion_code": "x"})
    )
    assert not customer.subscriptions.exists()
    assert Coupon.objects.get(pk=one).times_redeemed == 1


def test_create_preview_with_discounts(api):
    customer, price = CustomerFactory(), PriceFactory()
    sub = ok(
        api.post(
            "/v1/subscriptions",
            {"customer": customer.pk, "items": [{"price": price.pk}]},
        )
    )
    coupon = ok(api.post("/v1/coupons", {"amount_off": 250, "currency": "usd"}))["id"]
    preview = ok(
        api.post(
            "/v1/invoices/create_preview",
            {"subscription": sub["id"], "discounts": [{"coupon": coupon}]},
        )
    )
    assert (preview["subtotal"], preview["total"]) == (1000, 750)
    assert ok(api.get(f"/v1/coupons/{coupon}"))["times_redeemed"] == 0
    assert ok(api.get(f"/v1/subscriptions/{sub['id']}"))["discounts"] == []

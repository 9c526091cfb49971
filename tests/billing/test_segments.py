"""Prices on segments of one meter (``recurring[meter_segment_conditions]``, Tally's
extension): one meter ``tokens`` with ``model=large|small`` billed at two rates,
one invoice line per priced segment, preview equal to the invoice to the cent;
the new formulas priced on invoices; bad segments refused with nothing written."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.services import subscription_create
from catalog.models import Price
from metering import services as metering
from tests.billing.factories import CustomerFactory, PriceFactory, ProductFactory
from tests.billing.test_preview_equals_invoice import (
    close_and_finalize,
    issued,
    latest,
    preview_of,
)
from tests.helpers import error_of

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

pytestmark = pytest.mark.django_db


def d(day, hour=0):
    return datetime(2026, 4, day, hour, tzinfo=UTC)


def make_meter(formula="sum", event_name="tokens", **extra):
    return metering.meter_create(
        display_name=event_name,
        event_name=event_name,
        formula=formula,
        now=APR1,
        livemode=False,
        **extra,
    )


def send(meter, customer, value, at, **dimensions):
    metering.meter_event_create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.id, "value": str(value), **dimensions},
        timestamp=at,
        now=at,
    )


def metered(product, meter, unit, *conditions):
    return PriceFactory(
        product=product,
        unit_amount_decimal=Decimal(unit),
        recurring_usage_type="metered",
        recurring_meter=meter,
        recurring_meter_segment_conditions=[
            {"dimension": k, "value": v} for k, v in conditions
        ],
    )


def price_params(meter, **recurring):
    return {
        "currency": "usd",
        "unit_amount_decimal": "2",
        "product_data": {"name": "Tokens"},
        "recurring": {
            "interval": "month",
            "usage_type": "metered",
            "meter": meter.id,
            **recurring,
        },
    }


def test_api_creates_a_segment_price(api):
    meter = make_meter(dimension_payload_keys=["model"])
    body = api.post(
        "/v1/prices",
        price_params(
            meter, meter_segment_conditions=[{"dimension": "model", "value": "large"}]
        ),
    ).json()
    assert body["recurring"]["meter_segment_conditions"] == [
        {"dimension": "model", "value": "large"}
    ]
    assert api.get(f"/v1/prices/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("recurring", "param"),
    [
        (
            {"meter_segment_conditions": [{"dimension": "colour", "value": "red"}]},
            "recurring[meter_segment_conditions][0][dimension]",
        ),
        (
            {
                "meter_segment_conditions": [
                    {"dimension": "model", "value": "large"},
                    {"dimension": "model", "value": "small"},
                ]
            },
            "recurring[meter_segment_conditions][1][dimension]",
        ),
        (
            {
                "usage_type": "licensed",
                "meter": "",
                "meter_segment_conditions": [{"dimension": "model", "value": "x"}],
            },
            "recurring[meter_segment_conditions]",
        ),
    ],
)
def test_bad_segments_are_400_and_nothing_is_written(api, recurring, param):
    meter = make_meter(dimension_payload_keys=["model"])
    params = price_params(meter)
    params["recurring"].update(recurring)
    if recurring.get("meter") == "":
        del params["recurring"]["meter"]
    response = api.post("/v1/prices", params)
    assert response.status_code == 400, response.json()
    assert error_of(response)["param"] == param
    assert not Price.objects.exists()


def test_two_segments_of_one_meter_on_one_invoice():
    meter = make_meter(dimension_payload_keys=["model"])
    product = ProductFactory(name="Tokens", unit_label="tokens")
    large = metered(product, meter, "2", ("model", "large"))
    small = metered(product, meter, "0.5", ("model", "small"))
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": large.pk}, {"price": small.pk}]},
        now=APR1,
    )
    send(meter, customer, 1000, d(3), model="large")
    send(meter, customer, 234, d(20, 5), model="large")
    send(meter, customer, 10_001, d(12), model="small")
    send(meter, customer, 999, d(12), model="medium")  # priced by neither
    before = preview_of(sub, MAY1 - HOUR)
    close_and_finalize(MAY1)
    invoice = latest(sub, "subscription_cycle")
    assert before == issued(invoice)
    lines = {
        line.price_id: (line.quantity, line.amount, line.description)
        for line in invoice.lines.all()
    }
    assert lines[large.pk][:2] == (Decimal(1234), 2468)
    # 10,001 x 0.5 = 5,000.5 cents, rounded once, half up.
    assert lines[small.pk][:2] == (Decimal(10_001), 5001)
    assert "(model: large)" in lines[large.pk][2]
    assert "(model: small)" in lines[small.pk][2]
    invoice.refresh_from_db()
    assert invoice.subtotal == 2468 + 5001


def test_max_and_unique_count_priced_on_an_invoice():
    peak = make_meter("max", event_name="peak_seats")
    users = make_meter(
        "unique_count",
        event_name="active_users",
        dimension_payload_keys=["user"],
        unique_payload_key="user",
    )
    product = ProductFactory(name="Seats")
    peak_price = metered(product, peak, "500")
    user_price = metered(product, users, "1000")
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": peak_price.pk}, {"price": user_price.pk}]},
        now=APR1,
    )
    for at, value in [(d(2), 3), (d(9, 13), 7), (d(29), 5)]:
        send(peak, customer, value, at)
    for at, user in [(d(2), "ann"), (d(3), "bob"), (d(4), "ann"), (MAY1, "cy")]:
        send(users, customer, 1, at, user=user)
    before = preview_of(sub, MAY1 - HOUR)
    close_and_finalize(MAY1)
    invoice = latest(sub, "subscription_cycle")
    assert before == issued(invoice)
    amounts = {line.price_id: line.amount for line in invoice.lines.all()}
    assert amounts[peak_price.pk] == 7 * 500
    assert amounts[user_price.pk] == 2 * 1000  # cy came at the next period's start


def test_gb_hours_priced_on_an_invoice():
    storage = make_meter("time_weighted_sum", event_name="storage_gb")
    price = metered(ProductFactory(name="Storage"), storage, "0.01")
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    send(storage, customer, 100, APR1)
    send(storage, customer, 50, d(16))
    # The preview reads to the period's end: the last reading holds until then.
    before = preview_of(sub, MAY1 - HOUR)
    close_and_finalize(MAY1)
    invoice = latest(sub, "subscription_cycle")
    assert before == issued(invoice)
    line = invoice.lines.get(price=price)
    # 100 GB x 360 h + 50 GB x 360 h = 54,000 GB-hours at 0.01 cent.
    assert (line.quantity, line.amount) == (Decimal(54_000), 540)


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ((("model", "large"),), (("model", "small"),), False),
        ((("model", "large"),), (("model", "large"), ("region", "eu")), True),
        ((("model", "large"),), (("region", "eu"),), True),
        ((("model", "large"),), (), True),  # the whole meter overlaps any segment
        (
            (("model", "large"), ("region", "eu")),
            (("model", "large"), ("region", "us")),
            False,
        ),
    ],
)
def test_overlapping_segments_on_one_subscription_are_refused(
    api, first, second, overlap
):
    meter = make_meter(dimension_payload_keys=["model", "region"])
    product = ProductFactory(name="Tokens")
    one = metered(product, meter, "2", *first)
    two = metered(product, meter, "1", *second)
    customer = CustomerFactory()
    response = api.post(
        "/v1/subscriptions",
        {"customer": customer.pk, "items": [{"price": one.pk}, {"price": two.pk}]},
    )
    if overlap:
        assert response.status_code == 400, response.json()
        assert error_of(response)["param"] == "items[1][price]"
        assert not customer.subscriptions.exists()
    else:
        assert response.status_code == 200, response.json()


@pytest.mark.parametrize("route", ["update", "subscription_items"])
def test_adding_an_overlapping_segment_later_is_refused(api, route):
    meter = make_meter(dimension_payload_keys=["model", "region"])
    product = ProductFactory(name="Tokens")
    large = metered(product, meter, "2", ("model", "large"))
    europe = metered(product, meter, "1", ("region", "eu"))
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": large.pk}]}, now=APR1
    )
    if route == "update":
        response = api.post(
            f"/v1/subscriptions/{sub.pk}", {"items": [{"price": europe.pk}]}
        )
    else:
        response = api.post(
            "/v1/subscription_items", {"subscription": sub.pk, "price": europe.pk}
        )
    assert response.status_code == 400, response.json()
    assert error_of(response)["type"] == "invalid_request_error"
    assert "overlapping segments" in error_of(response)["message"]
    assert list(sub.items.values_list("price_id", flat=True)) == [large.pk]

"""The official stripe SDK drives coupons, promotion codes and a subscription with
a discount, unchanged, against a live server."""

from __future__ import annotations

import pytest

from tests.billing.factories import PriceFactory


def test_coupons_promotion_codes_and_a_discounted_subscription(stripe_client):
    client = stripe_client
    coupon = client.v1.coupons.create(
        params={"percent_off": 25.0, "duration": "forever", "name": "Launch"}
    )
    assert (coupon.percent_off, coupon.valid, coupon.times_redeemed) == (25.0, True, 0)
    assert client.v1.coupons.retrieve(coupon.id).name == "Launch"
    client.v1.coupons.update(coupon.id, params={"metadata": {"team": "growth"}})
    assert client.v1.coupons.retrieve(coupon.id).metadata["team"] == "growth"
    assert coupon.id in [c.id for c in client.v1.coupons.list().data]

    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "LAUNCH"}
    )
    assert code.promotion.coupon == coupon.id
    assert code.code == "LAUNCH"
    found = client.v1.promotion_codes.list(params={"code": "launch"}).data
    assert [c.id for c in found] == [code.id]

    price = PriceFactory()  # 10.00 a month
    customer = client.v1.customers.create(params={"name": "Jenny Rosen"})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.pk, "quantity": 2}],
            "discounts": [{"promotion_code": code.id}],
            "expand": ["discounts", "latest_invoice"],
        }
    )
    (discount,) = sub.discounts
    assert discount.object == "discount"
    assert discount.source.coupon == coupon.id
    assert discount.promotion_code == code.id
    invoice = sub.latest_invoice
    assert (invoice.subtotal, invoice.total) == (2000, 1500)
    assert invoice.total_discount_amounts[0].amount == 500
    assert invoice.total_discount_amounts[0].discount == discount.id
    assert invoice.lines.data[0].discount_amounts[0].amount == 500
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1

    client.v1.subscriptions.delete_discount(sub.id)
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []

    client.v1.promotion_codes.update(code.id, params={"active": False})
    with pytest.raises(Exception) as info:  # noqa: PT011 - the SDK's error class
        client.v1.subscriptions.update(
            sub.id, params={"discounts": [{"promotion_code": code.id}]}
        )
    assert info.value.http_status == 400
    deleted = client.v1.coupons.delete(coupon.id)
    assert deleted.deleted is True

"""Dashboard: create and list coupons and promotion codes (redemptions shown),
apply a coupon to a customer and a subscription, see discounts on the invoice."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.models import Coupon, PromotionCode
from billing.services import subscription_create
from tests.billing.factories import CustomerFactory, PriceFactory, TestClockFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_create_coupon_and_promotion_code_pages(admin_client):
    response = admin_client.post(
        reverse("admin:billing_coupon_add"),
        {
            "coupon_id": "TEAM20",
            "name": "Team",
            "percent_off": "20",
            "duration": "forever",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    coupon = Coupon.objects.get(pk="TEAM20")
    assert (coupon.percent_off, coupon.duration) == (Decimal(20), "forever")

    bad = admin_client.post(
        reverse("admin:billing_coupon_add"),
        {"percent_off": "120", "duration": "once"},
    )
    assert bad.status_code == 200
    assert Coupon.objects.count() == 1

    response = admin_client.post(
        reverse("admin:billing_promotioncode_add"),
        {"code": "TEAMWORK", "coupon": coupon.pk, "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PromotionCode.objects.get().code == "TEAMWORK"

    listing = admin_client.get(reverse("admin:billing_coupon_changelist")).content
    assert b"20% off forever" in listing
    codes = admin_client.get(reverse("admin:billing_promotioncode_changelist")).content
    assert b"TEAMWORK" in codes


def test_apply_to_customer_and_subscription_and_see_the_invoice(admin_client):
    customer = CustomerFactory(
        name="Northwind", test_clock=TestClockFactory(frozen_time=APR1)
    )
    price = PriceFactory(unit_amount_decimal=Decimal(4000))
    coupon = Coupon.objects.create(
        pk="TENOFF", amount_off=1000, currency="usd", duration="forever", created=APR1
    )
    customer_url = reverse("admin:core_customer_change", args=[quote(customer.pk)])
    page = admin_client.get(customer_url).content.decode()
    assert "Apply discount" in page
    admin_client.post(
        reverse("admin:billing_coupon_apply_customer", args=[customer.pk]),
        {"coupon": coupon.pk},
    )
    page = admin_client.get(customer_url).content.decode()
    assert "Current discount" in page
    assert "TENOFF" in page

    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    invoice_page = admin_client.get(
        reverse("admin:billing_invoice_change", args=[quote(sub.latest_invoice_id)])
    ).content.decode()
    assert "Discount: TENOFF" in invoice_page
    assert "$30.00" in invoice_page

    half = Coupon.objects.create(
        pk="HALF", percent_off=50, duration="once", created=APR1
    )
    sub_url = reverse("admin:billing_subscription_change", args=[quote(sub.pk)])
    admin_client.post(
        reverse("admin:billing_subscription_discount", args=[quote(sub.pk)]),
        {"coupon": half.pk},
    )
    sub.refresh_from_db()
    assert len(sub.discounts) == 1
    detail = admin_client.get(sub_url).content.decode()
    assert "HALF" in detail
    assert "Discount: HALF" in detail  # the upcoming invoice shows it
    coupon_page = admin_client.get(
        reverse("admin:billing_coupon_change", args=["TENOFF"])
    ).content.decode()
    assert customer.name in coupon_page  # its redemptions

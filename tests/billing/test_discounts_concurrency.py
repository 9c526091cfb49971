"""A coupon or promotion code redeemed in parallel never goes over its
``max_redemptions``: each redemption is a conditional UPDATE that PostgreSQL
re-checks on the row a racing one just wrote."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from billing.models import Coupon, Discount, PromotionCode, Subscription
from billing.services import subscription_create
from billing.services.coupons import coupon_create, promotion_code_create
from billing.services.discounts import customer_discount_set
from core.errors import InvalidRequest
from tests.billing.factories import CustomerFactory, PriceFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
WORKERS = 6

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def _race(work, arguments) -> tuple[int, list[Exception]]:
    """Run ``work(argument)`` in a thread each, all released at once."""
    barrier = threading.Barrier(len(arguments))
    done, errors = [], []

    def run(argument):
        try:
            barrier.wait()
            work(argument)
            done.append(argument)
        except Exception as error:  # noqa: BLE001 - asserted by the caller
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(a,)) for a in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(done), errors


def test_parallel_customer_redemptions_stop_at_max_redemptions():
    coupon = coupon_create(
        params={"percent_off": Decimal(10), "duration": "once", "max_redemptions": 2},
        now=APR1,
    )
    customers = [CustomerFactory() for _ in range(WORKERS)]

    def redeem(customer):
        with transaction.atomic():
            customer_discount_set(
                customer=customer, entry={"coupon": coupon.pk}, now=APR1
            )

    succeeded, errors = _race(redeem, customers)
    assert succeeded == 2
    assert len(errors) == WORKERS - 2
    assert all(isinstance(error, InvalidRequest) for error in errors)
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 2
    assert Discount.objects.filter(coupon=coupon).count() == 2


def test_parallel_subscriptions_with_one_promotion_code_stop_at_its_maximum():
    coupon = coupon_create(params={"amount_off": 100, "currency": "usd"}, now=APR1)
    code = promotion_code_create(
        params={"coupon": coupon.pk, "code": "RACE", "max_redemptions": 3}, now=APR1
    )
    price = PriceFactory()
    customers = [CustomerFactory() for _ in range(WORKERS)]

    def subscribe(customer):
        subscription_create(
            customer=customer,
            params={
                "items": [{"price": price.pk}],
                "discounts": [{"promotion_code": code.pk}],
            },
            now=APR1,
        )

    succeeded, errors = _race(subscribe, customers)
    assert (succeeded, len(errors)) == (3, WORKERS - 3)
    assert PromotionCode.objects.get(pk=code.pk).times_redeemed == 3
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 3
    # A refused redemption left no subscription, invoice or discount behind.
    assert Subscription.objects.count() == 3
    assert Discount.objects.count() == 3

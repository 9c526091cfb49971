"""Minimum-spend commitments on real invoices, to the cent: a true-up when the
period's usage falls short, none when it reaches the minimum; with discounts,
credits, thresholds and taxes in the documented order; the preview taken just
before equals the invoice; subscriptions without commitments read nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Commitment, Invoice, Subscription
from billing.services import (
    invoice_preview,
    invoices_finalize_due,
    subscription_create,
    subscription_invoice_threshold,
    subscriptions_close_due,
)
from billing.services.commitments import commitment_create, commitment_void
from billing.services.coupons import coupon_create
from credits.services import credit_grant_create
from tests.billing.factories import CustomerFactory, PriceFactory, record_usage
from tests.billing.test_preview_equals_invoice import issued, previewed

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
JUN1 = datetime(2026, 6, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINIMUM = 10_000  # $100.00 a month


def d(month, day):
    return datetime(2026, month, day, tzinfo=UTC)


def fresh(sub: Subscription) -> Subscription:
    return Subscription.objects.select_related("customer").get(pk=sub.pk)


def subscribe(*, discounts=(), minimum: int | None = MINIMUM, **extra):
    """A subscription to tokens at 10 cents each, with a minimum spend."""
    price = PriceFactory(metered=True, unit_amount_decimal=Decimal(10))
    customer = CustomerFactory()
    params = {"items": [{"price": price.pk}], **extra}
    if discounts:
        params["discounts"] = [{"coupon": coupon.pk} for coupon in discounts]
    sub = subscription_create(customer=customer, params=params, now=APR1)
    if minimum is not None:
        commitment_create(
            params={
                "type": "minimum_spend",
                "subscription": sub.pk,
                "amount": minimum,
                "currency": "usd",
            },
            now=APR1,
        )
    return sub, customer, price.recurring_meter


def cycle(sub) -> Invoice:
    return Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")


def preview_then_close(sub, at=MAY1):
    """The preview an hour before the period's end, and the invoice issued."""
    before = previewed(
        invoice_preview(customer=None, subscription=fresh(sub), now=at - HOUR)
    )
    subscriptions_close_due(now=at)
    invoices_finalize_due(now=at + 2 * HOUR)
    return before, cycle(sub)


def true_ups(invoice: Invoice) -> list[int]:
    return list(invoice.lines.filter(kind="true_up").values_list("amount", flat=True))


def test_true_up_when_usage_falls_short():
    sub, customer, meter = subscribe()
    record_usage(meter=meter, customer=customer, value=300, at=d(4, 10))
    before, invoice = preview_then_close(sub)
    assert before == issued(invoice)
    assert true_ups(invoice) == [7_000]
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (10_000,) * 3
    line = invoice.lines.get(kind="true_up")
    assert line.description == "Minimum spend true-up"
    assert (line.period_start, line.period_end) == (APR1, MAY1)
    assert line.discountable is False


@pytest.mark.parametrize(("units", "total"), [(1_000, 10_000), (1_500, 15_000)])
def test_no_true_up_at_or_over_the_minimum(units, total):
    sub, customer, meter = subscribe()
    record_usage(meter=meter, customer=customer, value=units, at=d(4, 10))
    before, invoice = preview_then_close(sub)
    assert before == issued(invoice)
    assert true_ups(invoice) == []
    assert invoice.total == total


def test_no_usage_at_all_is_billed_the_whole_minimum():
    sub, _customer, _meter = subscribe()
    before, invoice = preview_then_close(sub)
    assert before == issued(invoice)
    assert true_ups(invoice) == [MINIMUM]


def test_discounts_come_off_before_the_minimum_is_measured():
    coupon = coupon_create(
        params={"percent_off": Decimal(10), "duration": "forever"}, now=APR1
    )
    sub, customer, meter = subscribe(discounts=[coupon])
    # 1,000 units: $100.00 less 10 % = $90.00 spent, $10.00 short.
    record_usage(meter=meter, customer=customer, value=1_000, at=d(4, 10))
    before, invoice = preview_then_close(sub)
    assert before == issued(invoice)
    assert true_ups(invoice) == [1_000]
    assert invoice.subtotal == 11_000
    assert sum(e["amount"] for e in invoice.total_discount_amounts) == 1_000
    assert (invoice.total, invoice.amount_due) == (10_000, 10_000)


def test_credits_pay_the_usage_and_count_towards_the_minimum():
    sub, customer, meter = subscribe()
    credit_grant_create(
        customer=customer,
        value=2_000,
        currency="usd",
        category="promotional",
        now=APR1,
        name="Welcome",
    )
    record_usage(meter=meter, customer=customer, value=500, at=d(4, 10))
    before, invoice = preview_then_close(sub)
    assert before == issued(invoice)
    # $50.00 of usage (credits pay $20.00 of it) + $50.00 true-up, not paid by
    # credits.
    assert true_ups(invoice) == [5_000]
    assert invoice.subtotal == 10_000
    assert sum(a["amount"] for a in invoice.total_pretax_credit_amounts) == 2_000
    assert (invoice.total, invoice.amount_due) == (8_000, 8_000)


def test_threshold_invoices_of_the_period_count_towards_the_minimum():
    sub, customer, meter = subscribe(billing_thresholds={"amount_gte": 4_000})
    record_usage(meter=meter, customer=customer, value=500, at=d(4, 10))
    threshold = subscription_invoice_threshold(
        subscription=fresh(sub), now=d(4, 12), reason={"amount_gte": 4_000}
    )
    assert (threshold.total, true_ups(threshold)) == (5_000, [])
    record_usage(meter=meter, customer=customer, value=200, at=d(4, 20))
    before, invoice = preview_then_close(sub)
    assert before == issued(invoice)
    # $50.00 on the threshold invoice + $20.00 now: $30.00 short.
    assert true_ups(invoice) == [3_000]
    assert invoice.total == 5_000


def test_threshold_credits_and_discount_together():
    coupon = coupon_create(
        params={"percent_off": Decimal(20), "duration": "forever"}, now=APR1
    )
    sub, customer, meter = subscribe(
        discounts=[coupon], billing_thresholds={"amount_gte": 3_000}
    )
    credit_grant_create(
        customer=customer,
        value=1_500,
        currency="usd",
        category="promotional",
        now=APR1,
        name="Welcome",
    )
    record_usage(meter=meter, customer=customer, value=400, at=d(4, 10))
    threshold = subscription_invoice_threshold(
        subscription=fresh(sub), now=d(4, 12), reason={"amount_gte": 3_000}
    )
    # $40.00 - 20 % = $32.00; credits pay $15.00 of it.
    assert (threshold.subtotal, threshold.total) == (4_000, 1_700)
    record_usage(meter=meter, customer=customer, value=300, at=d(4, 20))
    before, invoice = preview_then_close(sub)
    assert before == issued(invoice)
    # Spent after discounts: $32.00 + $24.00 = $56.00; short $44.00.
    assert true_ups(invoice) == [4_400]
    assert invoice.subtotal == 3_000 + 4_400
    assert invoice.total == 3_000 - 600 + 4_400


def test_the_true_up_is_taxed_as_any_charge():
    from billing.taxes.rates import tax_rate_create

    rate = tax_rate_create(
        params={
            "display_name": "VAT",
            "percentage": Decimal(19),
            "inclusive": False,
        },
        now=APR1,
    )
    sub, customer, meter = subscribe(default_tax_rates=[rate.pk])
    record_usage(meter=meter, customer=customer, value=300, at=d(4, 10))
    before, invoice = preview_then_close(sub)
    assert before == issued(invoice)
    assert true_ups(invoice) == [7_000]
    assert invoice.total == 10_000 + 1_900


def test_each_period_is_measured_by_itself():
    sub, customer, meter = subscribe()
    record_usage(meter=meter, customer=customer, value=1_200, at=d(4, 10))
    _, april = preview_then_close(sub, MAY1)
    record_usage(meter=meter, customer=customer, value=100, at=d(5, 10))
    before = previewed(
        invoice_preview(customer=None, subscription=fresh(sub), now=JUN1 - HOUR)
    )
    subscriptions_close_due(now=JUN1)
    invoices_finalize_due(now=JUN1 + 2 * HOUR)
    may = Invoice.objects.get(
        subscription=sub, billing_reason="subscription_cycle", period_start=MAY1
    )
    assert before == issued(may)
    assert (true_ups(april), true_ups(may)) == ([], [9_000])


def test_term_and_void_decide_which_periods_owe():
    sub, customer, meter = subscribe(minimum=None)
    commitment = commitment_create(
        params={
            "type": "minimum_spend",
            "subscription": sub.pk,
            "amount": MINIMUM,
            "currency": "usd",
            "term": {"start": MAY1},
        },
        now=APR1,
    )
    _, april = preview_then_close(sub, MAY1)
    assert true_ups(april) == []
    commitment_void(commitment=commitment, now=d(5, 2))
    subscriptions_close_due(now=JUN1)
    invoices_finalize_due(now=JUN1 + 2 * HOUR)
    may = Invoice.objects.get(subscription=sub, period_start=MAY1)
    assert true_ups(may) == []


def test_late_usage_in_the_grace_period_shrinks_the_true_up():
    sub, customer, meter = subscribe()
    record_usage(meter=meter, customer=customer, value=300, at=d(4, 10))
    subscriptions_close_due(now=MAY1)
    record_usage(meter=meter, customer=customer, value=200, at=d(4, 30))
    invoices_finalize_due(now=MAY1 + 2 * HOUR)
    invoice = cycle(sub)
    assert true_ups(invoice) == [5_000]
    assert invoice.total == MINIMUM


def test_a_subscription_without_commitments_reads_no_commitment():
    sub, customer, meter = subscribe(minimum=None)
    record_usage(meter=meter, customer=customer, value=300, at=d(4, 10))
    with CaptureQueriesContext(connection) as queries:
        invoice_preview(customer=None, subscription=fresh(sub), now=MAY1 - HOUR)
        subscriptions_close_due(now=MAY1)
        invoices_finalize_due(now=MAY1 + 2 * HOUR)
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "billing_commitment" not in sql
    assert true_ups(cycle(sub)) == []
    assert not Commitment.objects.exists()

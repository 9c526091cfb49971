"""The preview taken just before an invoice is issued equals that invoice, line by
line, to the cent: per billing reason, and over random subscriptions (hypothesis)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Invoice, Subscription
from billing.services import (
    invoice_item_create,
    invoice_preview,
    invoices_finalize_due,
    subscription_cancel,
    subscription_create,
    subscription_invoice_threshold,
    subscription_update,
    subscriptions_close_due,
)
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    hypernian,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
JUN1 = datetime(2026, 6, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
GRACE_PASSED = 2 * HOUR

pytestmark = pytest.mark.django_db


def d(month, day, hour=0):
    return datetime(2026, month, day, hour, tzinfo=UTC)


def previewed(preview: dict) -> tuple:
    """(totals, lines) of a preview, as compared."""
    lines = [
        (
            line["description"],
            int(line["quantity"] or 0),
            line["amount"],
            line["period"]["start"],
            line["period"]["end"],
        )
        for line in preview["lines"]["data"]
    ]
    totals = (preview["subtotal"], preview["total"], preview["amount_due"])
    return totals, lines


def issued(invoice: Invoice) -> tuple:
    """(totals, lines) of a written invoice, as compared."""
    invoice.refresh_from_db()
    lines = [
        (
            line.description,
            int(line.quantity or 0),
            line.amount,
            int(line.period_start.timestamp()),
            int(line.period_end.timestamp()),
        )
        for line in invoice.lines.order_by("position")
    ]
    return (invoice.subtotal, invoice.total, invoice.amount_due), lines


def fresh(sub: Subscription) -> Subscription:
    return Subscription.objects.select_related("customer").get(pk=sub.pk)


def preview_of(sub, now, **kwargs) -> tuple:
    return previewed(
        invoice_preview(customer=None, subscription=fresh(sub), now=now, **kwargs)
    )


def latest(sub, reason=None) -> Invoice:
    rows = Invoice.objects.filter(subscription=sub)
    if reason:
        rows = rows.filter(billing_reason=reason)
    return rows.order_by("-created", "-id").first()


@pytest.fixture
def plan():
    flat, overage = hypernian()
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk, "quantity": 2}, {"price": overage.pk}]},
        now=APR1,
    )
    return sub, customer, overage.recurring_meter


def close_and_finalize(at):
    subscriptions_close_due(now=at)
    invoices_finalize_due(now=at + GRACE_PASSED)


def test_cycle(plan):
    sub, customer, meter = plan
    record_usage(meter=meter, customer=customer, value=150_000, at=d(4, 10))
    before = preview_of(sub, MAY1 - HOUR)
    close_and_finalize(MAY1)
    assert before == issued(latest(sub, "subscription_cycle"))
    assert before[0][1] == 40000 + 5000


def test_threshold_then_cycle_counts_threshold_usage_once(plan):
    sub, customer, meter = plan
    record_usage(meter=meter, customer=customer, value=192_000, at=d(4, 10))
    threshold = subscription_invoice_threshold(
        subscription=fresh(sub), now=d(4, 12), reason={"amount_gte": 100}
    )
    assert issued(threshold)[0][1] == 9200
    record_usage(meter=meter, customer=customer, value=30_000, at=d(4, 20))
    before = preview_of(sub, MAY1 - HOUR)
    close_and_finalize(MAY1)
    assert before == issued(latest(sub, "subscription_cycle"))
    assert before[0][1] == 40000 + 3000
    # The period after: nothing of April comes back as "usage from previous period".
    before = preview_of(sub, JUN1 - HOUR)
    close_and_finalize(JUN1)
    assert before == issued(latest(sub, "subscription_cycle"))
    assert before[0][1] == 40000


def test_proration_on_change(plan):
    sub, customer, meter = plan
    record_usage(meter=meter, customer=customer, value=120_000, at=d(4, 5))
    flat_item = fresh(sub).items.order_by("position").first()
    details = {
        "items": [{"id": flat_item.pk, "quantity": 5}],
        "proration_behavior": "always_invoice",
    }
    before = preview_of(sub, d(4, 16), details=details)
    subscription_update(subscription=fresh(sub), params=details, now=d(4, 16))
    assert before == issued(latest(sub))
    assert before[0][1] == 3 * 20000 // 2


def test_cancellation_with_usage(plan):
    sub, customer, meter = plan
    record_usage(meter=meter, customer=customer, value=130_000, at=d(4, 5))
    details = {"cancel_now": True, "proration_behavior": "create_prorations"}
    before = preview_of(sub, d(4, 16), details=details)
    subscription_cancel(
        subscription=fresh(sub), invoice_now=True, prorate=True, now=d(4, 16)
    )
    invoices_finalize_due(now=d(4, 16) + GRACE_PASSED)
    invoice = latest(sub)
    assert invoice.status != Invoice.Status.DRAFT
    assert before == issued(invoice)
    assert before[0][1] == 3000 - 2 * 20000 // 2


def test_late_usage_after_finalization(plan):
    sub, customer, meter = plan
    record_usage(meter=meter, customer=customer, value=110_000, at=d(4, 10))
    close_and_finalize(MAY1)
    record_usage(meter=meter, customer=customer, value=5_000, at=d(4, 29))
    before = preview_of(sub, JUN1 - HOUR)
    close_and_finalize(JUN1)
    assert before == issued(latest(sub, "subscription_cycle"))
    assert any(line[0].startswith("Usage from previous period") for line in before[1])


def test_one_off_invoice_item(plan):
    sub, customer, _meter = plan
    entry = {"amount": 4321, "currency": "usd", "description": "Setup"}
    before = previewed(
        invoice_preview(
            customer=customer,
            subscription=None,
            invoice_items=[entry],
            now=d(4, 20),
        )
    )
    invoice_item_create(customer=customer, params=entry, now=d(4, 20))
    close_and_finalize(MAY1)
    assert before == issued(latest(sub, "subscription_cycle"))
    assert ("Setup", 1, 4321) in [line[:3] for line in before[1]]


# ---- random subscriptions, usage and thresholds ------------------------------------

usage_events = st.lists(
    st.tuples(st.integers(1, 29), st.integers(0, 80_000)), max_size=5
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seats=st.integers(0, 4),
    unit=st.sampled_from(["0.1", "1", "7", "0.0333"]),
    april=usage_events,
    thresholds=st.lists(st.integers(2, 28), max_size=2, unique=True),
    late=st.integers(0, 20_000),
    may=usage_events,
)
def test_preview_equals_invoice_for_random_subscriptions(
    seats, unit, april, thresholds, late, may
):
    with transaction.atomic():
        flat, overage = hypernian()
        metered = PriceFactory(
            product=overage.product,
            unit_amount_decimal=unit,
            recurring_usage_type="metered",
            recurring_meter=overage.recurring_meter,
        )
        meter = overage.recurring_meter
        customer = CustomerFactory()
        items = [{"price": overage.pk}, {"price": metered.pk}]
        if seats:
            items.append({"price": flat.pk, "quantity": seats})
        sub = subscription_create(customer=customer, params={"items": items}, now=APR1)
        cuts = sorted(thresholds)
        for day, value in april:
            record_usage(meter=meter, customer=customer, value=value, at=d(4, day))
        for day in cuts:
            subscription_invoice_threshold(
                subscription=fresh(sub), now=d(4, day, 12), reason={"amount_gte": 1}
            )
        for moment in (MAY1, JUN1):
            before = preview_of(sub, moment - HOUR)
            close_and_finalize(moment)
            assert before == issued(latest(sub, "subscription_cycle"))
            if moment == MAY1:
                record_usage(meter=meter, customer=customer, value=late, at=d(4, 30))
                for day, value in may:
                    record_usage(
                        meter=meter, customer=customer, value=value, at=d(5, day)
                    )
        transaction.set_rollback(True)

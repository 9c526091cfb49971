"""The official stripe SDK against a live server: seed 003's prepayment invoice
and a subscription's life on a test clock."""

from datetime import UTC, datetime

import pytest

APR1 = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())
DAY = 86400


def test_seed_003_prepayment_invoice(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(
        name="Hypernian Enterprise", email="ap@hyp.example"
    )
    invoice = stripe.Invoice.create(
        customer=customer.id,
        collection_method="send_invoice",
        days_until_due=30,
        currency="usd",
    )
    assert (invoice.status, invoice.billing_reason) == ("draft", "manual")
    item = stripe.InvoiceItem.create(
        customer=customer.id,
        invoice=invoice.id,
        description="Hypernian Credits",
        amount=100_000_00,
        currency="usd",
    )
    assert item.amount == 100_000_00
    invoice = stripe.Invoice.finalize_invoice(invoice.id)
    assert invoice.status == "open"
    assert invoice.number.endswith("-0001")
    assert invoice.amount_due == 100_000_00
    (line,) = invoice.lines.data
    assert line.description == "Hypernian Credits"
    assert line.parent.type == "invoice_item_details"
    assert line.parent.invoice_item_details.invoice_item == item.id
    stripe.Invoice.send_invoice(invoice.id)
    invoice = stripe.Invoice.pay(invoice.id, paid_out_of_band=True)
    assert invoice.status == "paid"
    assert (invoice.amount_paid, invoice.amount_remaining) == (100_000_00, 0)
    assert invoice.status_transitions.paid_at is not None

    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.InvoiceItem.modify(item.id, amount=1)
    assert info.value.code == "invoice_not_editable"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.modify(invoice.id, collection_method="charge_automatically")
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.void_invoice(invoice.id)
    assert stripe.Invoice.retrieve(invoice.id).total == 100_000_00


def test_subscription_lifecycle_on_a_test_clock(stripe_sdk):
    stripe = stripe_sdk
    clock = stripe.test_helpers.TestClock.create(frozen_time=APR1, name="Hypernian")
    customer = stripe.Customer.create(name="Northwind", test_clock=clock.id)
    meter = stripe.billing.Meter.create(
        display_name="Hypernian API tokens",
        event_name="hypernian_api_tokens",
        default_aggregation={"formula": "sum"},
    )
    product = stripe.Product.create(name="Hypernian Pro", unit_label="tokens")
    flat = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=20000,
        recurring={"interval": "month"},
    )
    overage = stripe.Price.create(
        product=product.id,
        currency="usd",
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[
            {"up_to": 100000, "unit_amount": 0},
            {"up_to": "inf", "unit_amount_decimal": "0.1"},
        ],
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    subscription = stripe.Subscription.create(
        customer=customer.id, items=[{"price": flat.id}, {"price": overage.id}]
    )
    assert subscription.status == "active"
    assert subscription.test_clock == clock.id
    item = subscription["items"].data[0]
    assert item.current_period_end == APR1 + 30 * DAY
    first = stripe.Invoice.retrieve(subscription.latest_invoice)
    assert [line.amount for line in first.lines.data] == [20000, 0]
    assert first.parent.subscription_details.subscription == subscription.id

    stripe.billing.MeterEvent.create(
        event_name="hypernian_api_tokens",
        payload={"stripe_customer_id": customer.id, "value": "150000"},
        timestamp=APR1 + 60,
    )
    preview = stripe.Invoice.create_preview(subscription=subscription.id)
    assert preview.total == 25000
    clock = stripe.test_helpers.TestClock.advance(
        clock.id, frozen_time=APR1 + 30 * DAY + 7200
    )
    assert stripe.test_helpers.TestClock.retrieve(clock.id).status == "ready"
    invoices = stripe.Invoice.list(subscription=subscription.id).data
    assert [(i.billing_reason, i.status, i.total) for i in invoices] == [
        ("subscription_cycle", "open", 25000),
        ("subscription_create", "open", 20000),
    ]
    paid = stripe.Invoice.pay(invoices[0].id, paid_out_of_band=True)
    assert paid.status == "paid"

    canceled = stripe.Subscription.cancel(subscription.id, invoice_now=True)
    assert canceled.status == "canceled"
    assert stripe.Subscription.list(customer=customer.id).data == []
    assert len(stripe.Subscription.list(customer=customer.id, status="all").data) == 1

"""Seed 001 end to end with the stripe SDK and a test clock: credits burn down usage.

Jenny Rosen subscribes to Hypernian's input (0.03 USD/token) and output (0.05 USD/token)
token prices with a 10 USD credit grant. 200 input and 100 output tokens cost
6.00 + 5.00 = 11.00 USD; the grant pays 10.00 of it (6.00 on the input line first, then
4.00 of the output line) and the invoice asks for 1.00.
"""

from datetime import UTC, datetime, timedelta

import pytest

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def advance(stripe, clock_id: str, moment: datetime) -> None:
    stripe.test_helpers.TestClock.advance(clock_id, frozen_time=unix(moment))
    assert stripe.test_helpers.TestClock.retrieve(clock_id).status == "ready"


@pytest.fixture
def hypernian(stripe_sdk):
    stripe = stripe_sdk
    clock = stripe.test_helpers.TestClock.create(frozen_time=unix(T0), name="seed 001")
    meters, prices = {}, {}
    for kind, cents in (("input", "3"), ("output", "5")):
        meters[kind] = stripe.billing.Meter.create(
            display_name=f"Hypernian {kind} tokens",
            event_name=f"hypernian_{kind}_tokens",
            default_aggregation={"formula": "sum"},
        )
        product = stripe.Product.create(name=f"Hypernian {kind} tokens")
        prices[kind] = stripe.Price.create(
            product=product.id,
            currency="usd",
            unit_amount_decimal=cents,
            billing_scheme="per_unit",
            recurring={
                "interval": "month",
                "usage_type": "metered",
                "meter": meters[kind].id,
            },
        )
    customer = stripe.Customer.create(
        name="Jenny Rosen", email="jenny.rosen@example.com", test_clock=clock.id
    )
    grant = stripe.billing.CreditGrant.create(
        customer=customer.id,
        name="Hypernian credits",
        amount={"type": "monetary", "monetary": {"currency": "usd", "value": 1000}},
        applicability_config={"scope": {"price_type": "metered"}},
        category="paid",
    )
    subscription = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": prices["input"].id}, {"price": prices["output"].id}],
    )
    return {
        "stripe": stripe,
        "clock": clock,
        "meters": meters,
        "prices": prices,
        "customer": customer,
        "grant": grant,
        "subscription": subscription,
    }


def test_credits_apply_at_finalization(hypernian):
    stripe, customer = hypernian["stripe"], hypernian["customer"]
    clock, grant = hypernian["clock"], hypernian["grant"]

    first = stripe.Invoice.list(customer=customer.id).data
    assert [(i.billing_reason, i.total, i.status) for i in first] == [
        ("subscription_create", 0, "paid")
    ]
    assert sorted(line.amount for line in first[0].lines.data) == [0, 0]

    advance(stripe, clock.id, T0 + timedelta(days=2))
    for kind, tokens in (("input", 200), ("output", 100)):
        stripe.billing.MeterEvent.create(
            event_name=f"hypernian_{kind}_tokens",
            payload={"stripe_customer_id": customer.id, "value": str(tokens)},
            timestamp=unix(T0 + timedelta(days=1)),
        )

    preview = stripe.Invoice.create_preview(customer=customer.id)
    assert preview.subtotal == 1100
    assert sum(c.amount for c in preview.total_pretax_credit_amounts) == 1000
    assert preview.total == 100
    assert preview.amount_due == 100

    # The preview wrote nothing: the whole grant is still available.
    summary = stripe.billing.CreditBalanceSummary.retrieve(
        customer=customer.id,
        filter={"type": "credit_grant", "credit_grant": grant.id},
    )
    assert summary.balances[0].available_balance.monetary.value == 1000

    advance(stripe, clock.id, datetime(2026, 6, 1, 2, tzinfo=UTC))
    cycle = [
        i
        for i in stripe.Invoice.list(customer=customer.id).data
        if i.billing_reason == "subscription_cycle"
    ]
    assert len(cycle) == 1
    invoice = cycle[0]
    assert invoice.status == "open"
    assert invoice.subtotal == 1100
    assert invoice.total == 100
    assert invoice.amount_due == 100
    assert sum(c.amount for c in invoice.total_pretax_credit_amounts) == 1000
    by_price = {
        line.pricing.price_details.price: line
        for line in stripe.Invoice.list_lines(invoice.id).data
    }
    input_line = by_price[hypernian["prices"]["input"].id]
    output_line = by_price[hypernian["prices"]["output"].id]
    assert (input_line.amount, output_line.amount) == (600, 500)
    assert [c.amount for c in input_line.pretax_credit_amounts] == [600]
    assert [c.amount for c in output_line.pretax_credit_amounts] == [400]

    summary = stripe.billing.CreditBalanceSummary.retrieve(
        customer=customer.id,
        filter={
            "type": "applicability_scope",
            "applicability_scope": {"price_type": "metered"},
        },
    )
    balance = summary.balances[0]
    assert balance.available_balance.monetary.currency == "usd"
    assert balance.available_balance.monetary.value == 0
    assert balance.ledger_balance.monetary.value == 0

    transactions = stripe.billing.CreditBalanceTransaction.list(
        customer=customer.id, credit_grant=grant.id
    ).data
    debits = sorted(
        t.debit.amount.monetary.value for t in transactions if t.type == "debit"
    )
    credits = [
        t.credit.amount.monetary.value for t in transactions if t.type == "credit"
    ]
    assert credits == [1000]
    assert debits == [400, 600]
    applied = {
        t.debit.credits_applied.invoice_line_item
        for t in transactions
        if t.type == "debit"
    }
    assert applied == {input_line.id, output_line.id}

    usage = stripe.billing.Meter.list_event_summaries(
        hypernian["meters"]["input"].id,
        customer=customer.id,
        start_time=unix(T0),
        end_time=unix(datetime(2026, 6, 1, tzinfo=UTC)),
    ).data
    assert sum(s.aggregated_value for s in usage) == 200


def test_voiding_reinstates_the_credits(hypernian):
    stripe, customer = hypernian["stripe"], hypernian["customer"]
    clock, grant = hypernian["clock"], hypernian["grant"]

    def available() -> int:
        summary = stripe.billing.CreditBalanceSummary.retrieve(
            customer=customer.id,
            filter={"type": "credit_grant", "credit_grant": grant.id},
        )
        return summary.balances[0].available_balance.monetary.value

    advance(stripe, clock.id, T0 + timedelta(days=2))
    stripe.billing.MeterEvent.create(
        event_name="hypernian_input_tokens",
        payload={"stripe_customer_id": customer.id, "value": "500"},
        timestamp=unix(T0 + timedelta(days=1)),
    )
    advance(stripe, clock.id, datetime(2026, 6, 1, 2, tzinfo=UTC))
    invoice = next(
        i
        for i in stripe.Invoice.list(customer=customer.id).data
        if i.billing_reason == "subscription_cycle"
    )
    assert (invoice.subtotal, invoice.total, invoice.status) == (1500, 500, "open")
    assert available() == 0

    voided = stripe.Invoice.void_invoice(invoice.id)
    assert voided.status == "void"
    assert available() == 1000
    reinstated = [
        t.credit.amount.monetary.value
        for t in stripe.billing.CreditBalanceTransaction.list(
            customer=customer.id, credit_grant=grant.id
        ).data
        if t.type == "credit" and t.credit.type == "credits_application_invoice_voided"
    ]
    assert reinstated == [1000]


def test_a_fully_covered_invoice_is_paid(hypernian):
    stripe, customer, clock = (
        hypernian["stripe"],
        hypernian["customer"],
        hypernian["clock"],
    )
    advance(stripe, clock.id, T0 + timedelta(days=2))
    stripe.billing.MeterEvent.create(
        event_name="hypernian_output_tokens",
        payload={"stripe_customer_id": customer.id, "value": "100"},
        timestamp=unix(T0 + timedelta(days=1)),
    )
    advance(stripe, clock.id, datetime(2026, 6, 1, 2, tzinfo=UTC))
    invoice = next(
        i
        for i in stripe.Invoice.list(customer=customer.id).data
        if i.billing_reason == "subscription_cycle"
    )
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (500, 0, 0)
    assert invoice.status == "paid"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.void_invoice(invoice.id)

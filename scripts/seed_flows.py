"""Drive the seed flows through the official stripe SDK against a running Tally.

    .venv/bin/python scripts/seed_flows.py http://127.0.0.1:8000 sk_test_...

Seed 000/001 (meters, v1 and v2 meter events, summaries, a subscription on a test
clock, credits applied at finalization) and seed 003 (every pricing model; fixed fee
+ overage; the prepayment invoice and grant). Exits non-zero on the first mismatch.
Use it as a smoke test of `make run`: web, worker and beat all write while it runs.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import stripe


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {message}")
    print(f"  ok  {message}")


def wait_ready(clock_id: str, timeout: float = 120) -> None:
    """The worker advances the clock; poll until it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = stripe.test_helpers.TestClock.retrieve(clock_id).status
        if status == "ready":
            return
        check(status != "internal_failure", "test clock advanced without failure")
        time.sleep(0.5)
    raise SystemExit(f"FAILED: test clock {clock_id} still advancing after {timeout}s")


def advance(clock_id: str, moment: datetime) -> None:
    stripe.test_helpers.TestClock.advance(clock_id, frozen_time=unix(moment))
    wait_ready(clock_id)


def seed_001(run: str, client: stripe.StripeClient) -> None:
    print("seed 001: credits burn down metered usage")
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    clock = stripe.test_helpers.TestClock.create(frozen_time=unix(t0), name="seed 001")
    prices, meters = {}, {}
    for kind, cents in (("input", "3"), ("output", "5")):
        meters[kind] = stripe.billing.Meter.create(
            display_name=f"Input tokens {run}" if kind == "input" else f"Output {run}",
            event_name=f"{kind}_tokens_{run}",
            default_aggregation={"formula": "sum"},
        )
        product = stripe.Product.create(name=f"Hypernian {kind} tokens ({run})")
        prices[kind] = stripe.Price.create(
            product=product.id,
            currency="usd",
            unit_amount_decimal=cents,
            recurring={
                "interval": "month",
                "usage_type": "metered",
                "meter": meters[kind].id,
            },
        )
    customer = stripe.Customer.create(
        name="Jenny Rosen", test_clock=clock.id, email="jenny.rosen@example.com"
    )
    grant = stripe.billing.CreditGrant.create(
        customer=customer.id,
        name="10 USD credits",
        category="paid",
        amount={"type": "monetary", "monetary": {"currency": "usd", "value": 1000}},
        applicability_config={"scope": {"price_type": "metered"}},
    )
    stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": prices["input"].id}, {"price": prices["output"].id}],
    )
    first = stripe.Invoice.list(customer=customer.id).data
    check([i.total for i in first] == [0], "first invoice has zero-amount usage lines")

    advance(clock.id, t0 + timedelta(days=2))
    stripe.billing.MeterEvent.create(
        event_name=f"input_tokens_{run}",
        payload={"stripe_customer_id": customer.id, "value": "120"},
        timestamp=unix(t0 + timedelta(days=1)),
    )
    session = client.v2.billing.meter_event_session.create()
    stream = stripe.StripeClient(
        session.authentication_token, base_addresses={"meter_events": stripe.api_base}
    )
    stream.v2.billing.meter_event_stream.create(
        {
            "events": [
                {
                    "event_name": f"input_tokens_{run}",
                    "payload": {"stripe_customer_id": customer.id, "value": "80"},
                    "timestamp": (t0 + timedelta(days=1, hours=1)).isoformat(),
                },
                {
                    "event_name": f"output_tokens_{run}",
                    "payload": {"stripe_customer_id": customer.id, "value": "100"},
                    "timestamp": (t0 + timedelta(days=1, hours=2)).isoformat(),
                },
            ]
        }
    )
    summaries = stripe.billing.Meter.list_event_summaries(
        meters["input"].id,
        customer=customer.id,
        start_time=unix(t0),
        end_time=unix(t0 + timedelta(days=2)),
    ).data
    check(
        sum(s.aggregated_value for s in summaries) == 200, "summary counts 200 tokens"
    )

    preview = stripe.Invoice.create_preview(customer=customer.id)
    check(
        (preview.subtotal, preview.total) == (1100, 100),
        "preview: 11.00 usage, 10.00 credits, 1.00 due",
    )

    advance(clock.id, datetime(2026, 6, 1, 2, tzinfo=UTC))
    invoice = next(
        i
        for i in stripe.Invoice.list(customer=customer.id).data
        if i.billing_reason == "subscription_cycle"
    )
    credits = sum(c.amount for c in invoice.total_pretax_credit_amounts)
    check(
        (invoice.status, invoice.subtotal, credits, invoice.amount_due)
        == ("open", 1100, 1000, 100),
        "cycle invoice applies 10.00 of credits",
    )
    summary = stripe.billing.CreditBalanceSummary.retrieve(
        customer=customer.id, filter={"type": "credit_grant", "credit_grant": grant.id}
    )
    check(summary.balances[0].available_balance.monetary.value == 0, "grant used up")


def seed_003(run: str) -> None:
    print("seed 003: pricing models, fixed fee + overage, prepayment")
    meter = stripe.billing.Meter.create(
        display_name=f"API tokens {run}",
        event_name=f"api_tokens_{run}",
        default_aggregation={"formula": "sum"},
    )
    product = stripe.Product.create(name=f"Hypernian Pro ({run})")
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
        expand=["tiers"],
    )
    check(
        [t.up_to for t in overage.tiers] == [100000, None], "graduated tiers read back"
    )
    for shape in (
        {"unit_amount": 700, "billing_scheme": "per_unit"},
        {"unit_amount": 1000, "transform_quantity": {"divide_by": 60, "round": "up"}},
        {
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [
                {"up_to": 5, "unit_amount": 700},
                {"up_to": 10, "unit_amount": 650},
                {"up_to": "inf", "unit_amount": 600},
            ],
        },
    ):
        price = stripe.Price.create(
            product=product.id,
            currency="usd",
            recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
            **shape,
        )
        check(price.id.startswith("price_"), f"price shape {sorted(shape)}")

    t0 = datetime(2026, 4, 1, tzinfo=UTC)
    clock = stripe.test_helpers.TestClock.create(frozen_time=unix(t0))
    customer = stripe.Customer.create(name="Northwind", test_clock=clock.id)
    stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": flat.id, "quantity": 1}, {"price": overage.id}],
    )
    first = stripe.Invoice.list(customer=customer.id).data[0]
    check(
        (first.total, first.status) == (20000, "open") or first.total == 20000,
        "first invoice 200.00 with a 0.00 usage line",
    )
    advance(clock.id, t0 + timedelta(days=3))
    stripe.billing.MeterEvent.create(
        event_name=f"api_tokens_{run}",
        payload={"stripe_customer_id": customer.id, "value": "150000"},
        timestamp=unix(t0 + timedelta(days=2)),
    )
    advance(clock.id, datetime(2026, 5, 1, 2, tzinfo=UTC))
    cycle = next(
        i
        for i in stripe.Invoice.list(customer=customer.id).data
        if i.billing_reason == "subscription_cycle"
    )
    check(cycle.total == 25000, "150,000 tokens → 200.00 + 50.00")

    buyer = stripe.Customer.create(name="Prepaying customer")
    item = stripe.InvoiceItem.create(
        customer=buyer.id,
        amount=10000000,
        currency="usd",
        description="Hypernian Credits",
    )
    invoice = stripe.Invoice.create(
        customer=buyer.id, pending_invoice_items_behavior="include"
    )
    invoice = stripe.Invoice.finalize_invoice(invoice.id)
    invoice = stripe.Invoice.pay(invoice.id, paid_out_of_band=True)
    check((invoice.status, invoice.total) == ("paid", 10000000), "100,000.00 prepaid")
    try:
        stripe.InvoiceItem.modify(item.id, amount=1)
    except stripe.InvalidRequestError:
        check(True, "a paid invoice cannot be edited")
    else:
        raise SystemExit("FAILED: a paid invoice was edited")
    grant = stripe.billing.CreditGrant.create(
        customer=buyer.id,
        name="Hypernian Credits",
        category="paid",
        amount={"type": "monetary", "monetary": {"currency": "usd", "value": 12000000}},
        applicability_config={"scope": {"price_type": "metered"}},
        expires_at=unix(datetime.now(UTC) + timedelta(days=365)),
    )
    check(grant.amount.monetary.value == 12000000, "120,000.00 grant for 12 months")


def main() -> None:
    stripe.api_base = stripe.meter_events_api_base = sys.argv[1].rstrip("/")
    stripe.api_key = sys.argv[2]
    stripe.max_network_retries = 2
    client = stripe.StripeClient(
        sys.argv[2],
        base_addresses={"api": stripe.api_base, "meter_events": stripe.api_base},
    )
    run = uuid.uuid4().hex[:8]
    started = time.monotonic()
    seed_001(run, client)
    seed_003(run)
    print(f"all seed flows passed in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()

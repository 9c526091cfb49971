"""Demo subscriptions and invoices of the Hypernian example; idempotent.

- Jenny Rosen (seed 001) pays as she goes for input and output tokens.
- Northwind Analytics (seed 003) has Hypernian Pro (200 USD a month with 100,000
  tokens, then 0.001 USD a token) and paid a 100,000 USD "Hypernian Credits"
  prepayment invoice.

The subscriptions started 40 days ago, so one period has closed (its invoice is
final) and the current one shows usage so far and an upcoming invoice.
"""

from __future__ import annotations

from datetime import timedelta

from billing.models import Invoice, Subscription
from billing.services import (
    invoice_create_with_items,
    invoice_finalize,
    invoice_pay,
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from catalog.models import Price
from core import clock
from core.models import Customer

STARTED = timedelta(days=40)
PLANS = {
    "jenny.rosen@example.com": ["hypernian_input_tokens", "hypernian_output_tokens"],
    "billing@northwind.example": ["hypernian_pro_monthly", "hypernian_pro_overage"],
}
PREPAYMENT = ("billing@northwind.example", "hypernian_credits")


def _prices(lookup_keys: list[str]) -> list[Price] | None:
    prices = {
        price.lookup_key: price
        for price in Price.objects.filter(lookup_key__in=lookup_keys, active=True)
    }
    if len(prices) != len(lookup_keys):
        return None
    return [prices[key] for key in lookup_keys]


def _subscribe(customer: Customer, prices: list[Price], now, stdout) -> None:
    if Subscription.objects.filter(customer=customer).exists():
        return
    items = [
        {"price": price.pk} if price.is_metered else {"price": price.pk, "quantity": 1}
        for price in prices
    ]
    subscription_create(
        customer=customer,
        params={"items": items, "metadata": {"demo": "true"}},
        now=now - STARTED,
    )
    stdout.write(f"  subscription for {customer}")


def _prepay(now, stdout) -> None:
    email, lookup_key = PREPAYMENT
    customer = Customer.objects.filter(email=email, deleted=False).first()
    prices = _prices([lookup_key])
    if customer is None or prices is None:
        return
    if Invoice.objects.filter(customer=customer, billing_reason="manual").exists():
        return
    invoice = invoice_create_with_items(
        customer=customer,
        params={
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "description": "Hypernian enterprise prepayment (seed 003)",
        },
        items=[{"price": prices[0], "quantity": 1, "description": "Hypernian Credits"}],
        now=now - STARTED,
    )
    invoice = invoice_finalize(invoice=invoice, now=now - STARTED)
    invoice_pay(invoice=invoice, paid_out_of_band=True, now=now - STARTED)
    stdout.write(f"  prepayment invoice {invoice.number} for {customer} (paid)")


def load(*, stdout) -> None:
    now = clock.now()
    _prepay(now, stdout)
    for email, lookup_keys in PLANS.items():
        customer = Customer.objects.filter(email=email, deleted=False).first()
        prices = _prices(lookup_keys)
        if customer is not None and prices is not None:
            _subscribe(customer, prices, now, stdout)
    closed = subscriptions_close_due(now=now)
    finalized = invoices_finalize_due(now=now)
    if closed or finalized:
        stdout.write(f"  {closed} period(s) closed, {finalized} invoice(s) finalized")

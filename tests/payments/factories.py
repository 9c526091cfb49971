"""Helpers for payments tests: customers with cards, open invoices."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.models import Invoice
from billing.services import invoice_create, invoice_finalize, invoice_item_create
from core.models import Customer
from payments.models import PaymentMethod
from payments.services.payment_methods import (
    customer_default_payment_method_set,
    payment_method_attach,
)
from tests.billing.factories import CustomerFactory

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def customer_with_card(card: str = "pm_card_visa", **kwargs) -> Customer:
    """A customer whose invoice default is a new method made from test ``card``."""
    customer = CustomerFactory(email="ap@example.com", **kwargs)
    method = payment_method_attach(payment_method_id=card, customer=customer)
    customer_default_payment_method_set(customer=customer, payment_method=method)
    customer.refresh_from_db()
    return customer


def attach(customer: Customer, card: str) -> PaymentMethod:
    return payment_method_attach(payment_method_id=card, customer=customer)


def open_invoice(
    customer: Customer,
    *,
    amount: int = 12_345,
    now: datetime = T0,
    collection_method: str = "charge_automatically",
    **params,
) -> Invoice:
    """A finalized one-off invoice of ``amount`` cents (no auto collection run)."""
    invoice = invoice_create(
        customer=customer,
        params={"collection_method": collection_method, "currency": "usd", **params},
        now=now,
    )
    invoice_item_create(
        customer=customer,
        params={"amount": amount, "currency": "usd", "invoice": invoice.pk},
        now=now,
    )
    invoice.refresh_from_db()
    return invoice_finalize(invoice=invoice, now=now)


def event_types(object_id: str | None = None) -> list[str]:
    from core.models import Event

    rows = Event.objects.order_by("created", "id")
    if object_id:
        rows = rows.filter(object_id=object_id)
    return list(rows.values_list("type", flat=True))

"""Demo payment methods: Jenny Rosen pays by card (Stripe's test Visa); idempotent."""

from __future__ import annotations

from core.models import Customer
from payments.models import PaymentMethod
from payments.services.payment_methods import (
    customer_default_payment_method_set,
    payment_method_attach,
)

CARD_HOLDER = "jenny.rosen@example.com"


def load(*, stdout) -> None:
    customer = Customer.objects.filter(
        email=CARD_HOLDER, deleted=False, livemode=False
    ).first()
    if customer is None or PaymentMethod.objects.filter(customer=customer).exists():
        return
    card = payment_method_attach(payment_method_id="pm_card_visa", customer=customer)
    customer_default_payment_method_set(customer=customer, payment_method=card)
    stdout.write(f"  test Visa •••• 4242 for {customer} (invoice default)")

"""The official ``stripe`` SDK drives payment methods and ``Invoice.pay`` unchanged."""

from __future__ import annotations

import pytest

from tests.payments.factories import open_invoice


def test_payment_methods_and_invoice_pay_through_the_sdk(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Jenny Rosen", email="jenny@example.com")
    from core.models import Customer

    # Made before the customer has a card: finalization charges nothing yet.
    invoice = open_invoice(Customer.objects.get(pk=customer.id), amount=4_200)
    created = stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"})
    assert created.card.last4 == "4242"
    attached = stripe.PaymentMethod.attach(created.id, customer=customer.id)
    assert attached.customer == customer.id
    second = stripe.PaymentMethod.attach("pm_card_mastercard", customer=customer.id)
    listed = stripe.Customer.list_payment_methods(customer.id)
    assert {method.id for method in listed.data} == {created.id, second.id}
    assert (
        stripe.Customer.retrieve_payment_method(customer.id, second.id).id == second.id
    )
    stripe.Customer.modify(
        customer.id, invoice_settings={"default_payment_method": created.id}
    )
    assert (
        stripe.Customer.retrieve(customer.id).invoice_settings.default_payment_method
        == created.id
    )
    updated = stripe.PaymentMethod.modify(second.id, metadata={"k": "v"})
    assert updated.metadata["k"] == "v"
    assert stripe.PaymentMethod.detach(second.id).customer is None

    paid = stripe.Invoice.pay(invoice.pk)
    assert paid.status == "paid"
    assert paid.amount_paid == 4_200
    payments = stripe.InvoicePayment.list(invoice=invoice.pk)
    assert payments.data[0].amount_paid == 4_200

    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.pay(invoice.pk)


def test_a_decline_raises_the_sdks_card_error(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Declined")
    from core.models import Customer

    invoice = open_invoice(Customer.objects.get(pk=customer.id))
    with pytest.raises(stripe.CardError) as caught:
        stripe.Invoice.pay(invoice.pk, payment_method="pm_card_chargeDeclined")
    assert caught.value.code == "card_declined"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.PaymentMethod.attach("pm_unknown", customer=customer.id)

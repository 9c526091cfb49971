"""The customer's pages: cards (add a test card, make default, remove) and paying
an open invoice."""

from __future__ import annotations

import pytest
from django.test import Client

from core import clock
from core.models import Customer
from core.services.portal import portal_session_create
from payments.models import PaymentMethod
from tests.billing.factories import CustomerFactory
from tests.payments.factories import open_invoice

pytestmark = pytest.mark.django_db


def _link(customer) -> str:
    return portal_session_create(customer=customer, now=clock.now()).url


def test_add_cards_make_default_and_remove(client: Client):
    customer = CustomerFactory(name="Jenny", email="j@example.com")
    base = _link(customer)
    response = client.post(f"{base}payment-methods/", {"card": "pm_card_visa"})
    assert response.status_code == 302
    visa = PaymentMethod.objects.get(customer=customer)
    customer.refresh_from_db()
    # The first card becomes the default.
    assert customer.invoice_settings["default_payment_method"] == visa.pk
    client.post(f"{base}payment-methods/", {"card": "pm_card_mastercard"})
    mastercard = PaymentMethod.objects.get(customer=customer, card__brand="mastercard")
    page = client.get(f"{base}payment-methods/").content.decode()
    assert "4242" in page
    assert "4444" in page
    client.post(f"{base}payment-methods/{mastercard.pk}/default/")
    customer.refresh_from_db()
    assert customer.invoice_settings["default_payment_method"] == mastercard.pk
    client.post(f"{base}payment-methods/{mastercard.pk}/remove/")
    customer.refresh_from_db()
    assert customer.invoice_settings["default_payment_method"] is None
    assert list(PaymentMethod.objects.filter(customer=customer)) == [visa]


def test_another_customers_card_cannot_be_touched(client: Client):
    mine, theirs = CustomerFactory(), CustomerFactory()
    client.post(f"{_link(theirs)}payment-methods/", {"card": "pm_card_visa"})
    card = PaymentMethod.objects.get(customer=theirs)
    response = client.post(f"{_link(mine)}payment-methods/{card.pk}/remove/")
    assert response.status_code == 404
    assert PaymentMethod.objects.get(pk=card.pk).customer_id == theirs.pk


def test_pay_an_open_invoice_with_a_new_test_card(client: Client):
    invoice = open_invoice(CustomerFactory(email="ap@example.com"))
    base = _link(invoice.customer)
    assert f"invoices/{invoice.pk}/pay/" in client.get(base).content.decode()
    url = f"{base}invoices/{invoice.pk}/pay/"
    response = client.post(url, {"payment_method": "pm_card_chargeDeclined"})
    assert response.status_code == 200
    assert "declined" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "open"
    response = client.post(url, {"payment_method": "pm_card_visa"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert "Paid, thank you" in client.get(response["Location"]).content.decode()


def test_another_customers_invoice_is_not_payable(client: Client):
    invoice = open_invoice(CustomerFactory())
    other = _link(CustomerFactory())
    response = client.post(
        f"{other}invoices/{invoice.pk}/pay/", {"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 404
    assert not Customer.objects.get(pk=invoice.customer_id).payment_methods.exists()

"""The hosted invoice page's pay form (``/i/<token>/`` → ``/i/<token>/pay``):
saved or test cards, CSRF-checked, once per form shown, the outcome shown after."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from billing.services import invoice_void
from core import modes
from payments.models import PaymentAttempt, PaymentMethod, SimulatedCharge
from tests.billing.factories import CustomerFactory
from tests.payments.factories import T0, customer_with_card, event_types, open_invoice

pytestmark = pytest.mark.django_db


def page_of(invoice) -> str:
    return f"/i/{invoice.hosted_token}/"


def pay(client: Client, invoice, card: str, attempts: int = 0, **extra):
    return client.post(
        f"{page_of(invoice)}pay",
        {"payment_method": card, "attempts": attempts},
        **extra,
    )


def test_the_page_offers_saved_and_test_cards_and_a_test_card_pays(client):
    customer = customer_with_card("pm_card_mastercard")
    saved = PaymentMethod.objects.get(customer=customer)
    invoice = open_invoice(customer, amount=12_345)
    html = client.get(page_of(invoice)).content.decode()
    assert f'action="/i/{invoice.hosted_token}/pay"' in html
    assert "csrfmiddlewaretoken" in html
    assert f'value="{saved.pk}" selected' in html  # the default card first
    assert 'value="pm_card_visa"' in html
    assert 'name="attempts" value="0"' in html
    assert "Pay $123.45" in html

    response = pay(client, invoice, "pm_card_visa")
    assert response.status_code == 303
    assert response["Location"] == f"{page_of(invoice)}?attempt=1#pay"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == (
        "paid",
        12_345,
        0,
    )
    attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert attempt.off_session is False  # the customer is at the page
    assert attempt.payment_method.card["last4"] == "4242"
    shown = client.get(response["Location"]).content.decode()
    assert "Paid, thank you" in shown
    assert "<form" not in shown
    assert "invoice.paid" in event_types(invoice.pk)


def test_the_customers_saved_card_pays(client):
    customer = customer_with_card("pm_card_visa")
    saved = PaymentMethod.objects.get(customer=customer)
    invoice = open_invoice(customer, amount=5_000)
    assert pay(client, invoice, saved.pk).status_code == 303
    attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert (attempt.status, attempt.payment_method_id) == ("succeeded", saved.pk)
    assert PaymentMethod.objects.filter(customer=customer).count() == 1


def test_a_decline_is_shown_then_another_card_pays(client):
    invoice = open_invoice(CustomerFactory(), amount=2_000)
    response = pay(client, invoice, "pm_card_chargeDeclinedInsufficientFunds")
    assert response["Location"].endswith("?attempt=1#pay")
    shown = client.get(response["Location"]).content.decode()
    assert "Your card has insufficient funds." in shown
    assert 'data-attempt="failed"' in shown
    assert 'name="attempts" value="1"' in shown  # the next form is attempt 2
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempt_count) == ("open", 1)

    response = pay(client, invoice, "pm_card_visa", attempts=1)
    assert response["Location"].endswith("?attempt=2#pay")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    statuses = list(
        PaymentAttempt.objects.filter(invoice=invoice)
        .order_by("number")
        .values_list("status", flat=True)
    )
    assert statuses == ["failed", "succeeded"]


def test_authentication_required_is_shown(client):
    invoice = open_invoice(CustomerFactory(), amount=2_000)
    response = pay(client, invoice, "pm_card_authenticationRequired")
    shown = client.get(response["Location"]).content.decode()
    assert "requires authentication" in shown
    assert 'data-attempt="requires_action"' in shown
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_the_same_form_sent_twice_charges_once(client):
    invoice = open_invoice(CustomerFactory(), amount=2_000)
    first = pay(client, invoice, "pm_card_visa")
    again = pay(client, invoice, "pm_card_visa")  # double click, or reload
    assert first["Location"] == f"{page_of(invoice)}?attempt=1#pay"
    assert again["Location"] == f"{page_of(invoice)}#pay"  # "Paid, thank you"
    declined = open_invoice(CustomerFactory(), amount=2_000)
    first = pay(client, declined, "pm_card_chargeDeclined")
    again = pay(client, declined, "pm_card_chargeDeclined")
    assert (
        first["Location"] == again["Location"] == (f"{page_of(declined)}?attempt=1#pay")
    )
    assert PaymentAttempt.objects.filter(invoice=declined).count() == 1
    assert SimulatedCharge.objects.count() == 2  # one per invoice
    # The second form of a declined invoice made one new card, not two.
    assert PaymentMethod.objects.filter(customer=declined.customer).count() == 1


def _csrf(client: Client, invoice) -> str:
    html = client.get(page_of(invoice)).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_a_post_without_the_csrf_token_or_from_elsewhere_is_refused():
    client = Client(enforce_csrf_checks=True)
    invoice = open_invoice(CustomerFactory(), amount=2_000)
    assert pay(client, invoice, "pm_card_visa").status_code == 403
    token = _csrf(client, invoice)
    forged = client.post(
        f"{page_of(invoice)}pay",
        {"payment_method": "pm_card_visa", "attempts": 0},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    assert not PaymentAttempt.objects.exists()
    assert not PaymentMethod.objects.exists()
    response = client.post(
        f"{page_of(invoice)}pay",
        {"payment_method": "pm_card_visa", "attempts": 0, "csrfmiddlewaretoken": token},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 303
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_paid_and_void_invoices_show_no_form_and_take_no_payment(client):
    paid = open_invoice(CustomerFactory(), amount=2_000)
    pay(client, paid, "pm_card_visa")
    assert pay(client, paid, "pm_card_visa", attempts=1)["Location"] == (
        f"{page_of(paid)}#pay"
    )
    void = open_invoice(CustomerFactory(), amount=2_000)
    invoice_void(invoice=void, now=T0)
    html = client.get(page_of(void)).content.decode()
    assert "<form" not in html
    assert pay(client, void, "pm_card_visa").status_code == 303
    assert not PaymentAttempt.objects.filter(invoice=void).exists()
    assert PaymentAttempt.objects.filter(invoice=paid).count() == 1


@pytest.mark.parametrize(
    "card", ["pm_card_nope", "pm_123unknown", "4242424242424242", "", "tok_x" * 60]
)
def test_a_card_not_offered_is_refused_with_nothing_written(client, card):
    other = customer_with_card("pm_card_visa")
    theirs = PaymentMethod.objects.get(customer=other).pk
    invoice = open_invoice(CustomerFactory(), amount=2_000)
    for choice in (card, theirs):
        response = pay(client, invoice, choice)
        assert response.status_code == 400
        assert 'class="portal-error" role="alert"' in response.content.decode()
    bad_count = pay(client, invoice, "pm_card_visa", attempts=-1)
    assert bad_count.status_code == 400
    assert not PaymentAttempt.objects.filter(invoice=invoice).exists()
    assert not PaymentMethod.objects.filter(customer=invoice.customer).exists()
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_a_wrong_token_is_a_404_and_get_is_not_allowed(client):
    invoice = open_invoice(CustomerFactory(), amount=2_000)
    assert client.post(
        "/i/nope/pay", {"payment_method": "pm_card_visa"}
    ).status_code == (404)
    assert client.get(f"{page_of(invoice)}pay").status_code == 405


def test_live_mode_offers_only_saved_cards():
    client = Client()
    with modes.scope(True):
        bare = open_invoice(CustomerFactory(livemode=True), amount=2_000)
        customer = CustomerFactory(livemode=True)
        card = PaymentMethod.objects.create(
            customer=customer,
            card={"brand": "visa", "last4": "4242"},
            processor="stripe",
            processor_reference="pm_1Visa",
            livemode=True,
        )
        with_card = open_invoice(customer, amount=2_000)
    assert "<form" not in client.get(page_of(bare)).content.decode()
    html = client.get(page_of(with_card)).content.decode()
    assert f'value="{card.pk}"' in html
    assert "pm_card_visa" not in html
    response = pay(client, with_card, "pm_card_visa")
    assert response.status_code == 400
    assert not PaymentAttempt.objects.exists()

"""The "invoice finalized" email: once per finalized invoice, from every path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import (
    invoice_finalize,
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from core.errors import InvalidState
from core.models import OutboundEmail
from credits.services import credit_grant_create
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    ProductFactory,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
TEMPLATE = "billing/email/invoice_finalized"

pytestmark = pytest.mark.django_db


def finalized_emails():
    return OutboundEmail.objects.filter(template=TEMPLATE)


def cycle_draft(customer, *, usage: int = 500) -> Invoice:
    """The draft that closes April: 10.00 of seats for May, ``usage`` × 0.03."""
    product = ProductFactory(name="Hypernian input tokens", unit_label="tokens")
    tokens = PriceFactory(product=product, metered=True, unit_amount_decimal=Decimal(3))
    seats = PriceFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": seats.pk}, {"price": tokens.pk}]},
        now=APR1,
    )
    record_usage(
        meter=tokens.recurring_meter,
        customer=customer,
        value=usage,
        at=APR1 + timedelta(days=2),
    )
    OutboundEmail.objects.all().delete()  # the first invoice's email
    subscriptions_close_due(now=MAY1)
    return Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")


def test_finalizing_through_the_api_emails_the_total_and_the_credits(api, mailoutbox):
    customer = CustomerFactory(
        name="Jenny Rosen", email="jenny@example.com", invoice_prefix="JEN"
    )
    credit_grant_create(
        customer=customer, value=1_000, currency="usd", now=APR1, name="Starter"
    )
    draft = cycle_draft(customer)

    response = api.post(f"/v1/invoices/{draft.pk}/finalize")

    assert response.status_code == 200, response.json()
    assert (response.json()["subtotal"], response.json()["total"]) == (2500, 1500)
    (message,) = mailoutbox
    assert message.to == ["jenny@example.com"]
    assert message.subject == "Invoice JEN-0002 from Tally — $15.00 due"
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    for body in (message.body, html):
        assert "Jenny Rosen" in body
        assert "JEN-0002" in body
        assert "Apr 1, 2026 – May 1, 2026" in body
        assert "$25.00" in body  # subtotal
        assert "-$10.00" in body  # applied credits
        assert "$15.00" in body  # total and amount due
    assert "Applied credits: -$10.00" in message.body
    assert "Amount due: $15.00" in message.body
    email = finalized_emails().get()
    assert (email.status, email.to) == ("sent", ["jenny@example.com"])


def test_a_send_invoice_email_names_the_due_date(api, mailoutbox):
    customer = CustomerFactory(email="ap@acme.example", invoice_prefix="ACME")
    invoice = api.post(
        "/v1/invoices",
        {
            "customer": customer.pk,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "currency": "usd",
        },
    ).json()
    api.post(
        "/v1/invoiceitems",
        {
            "customer": customer.pk,
            "invoice": invoice["id"],
            "amount": 1300,
            "currency": "usd",
            "description": "Setup & <onboarding>",
        },
    )

    final = api.post(f"/v1/invoices/{invoice['id']}/finalize").json()

    due = datetime.fromtimestamp(final["due_date"], tz=UTC)
    (message,) = mailoutbox
    assert (
        message.subject
        == f"Invoice ACME-0001 from Tally — $13.00 due {due:%b} {due.day}, {due.year}"
    )
    assert "Setup & <onboarding>" in message.body
    assert "Setup &amp; &lt;onboarding&gt;" in message.alternatives[0][0]
    assert "Applied credits" not in message.body


def test_no_email_for_a_customer_without_an_address(api, mailoutbox):
    customer = CustomerFactory(email="")
    draft = cycle_draft(customer)

    assert api.post(f"/v1/invoices/{draft.pk}/finalize").status_code == 200

    assert mailoutbox == []
    assert not finalized_emails().exists()


def test_a_retried_finalization_does_not_email_twice(api, mailoutbox):
    customer = CustomerFactory(email="jenny@example.com")
    draft = cycle_draft(customer)

    assert api.post(f"/v1/invoices/{draft.pk}/finalize").status_code == 200
    again = api.post(f"/v1/invoices/{draft.pk}/finalize")
    with pytest.raises(InvalidState):
        invoice_finalize(invoice=draft, now=MAY1 + timedelta(hours=2))
    assert invoices_finalize_due(now=MAY1 + timedelta(hours=2)) == 0

    assert again.status_code == 400
    assert len(mailoutbox) == 1
    assert finalized_emails().count() == 1


def test_the_period_close_job_emails_each_invoice_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    customers = [CustomerFactory(email=f"c{n}@example.com") for n in range(3)]
    customers.append(CustomerFactory(email=""))
    drafts = [
        cycle_draft(customer, usage=100 * (n + 1))
        for n, customer in enumerate(customers)
    ]
    grace_end = MAY1 + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_finalize_due(now=grace_end) == 4
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_finalize_due(now=grace_end) == 0

    emails = finalized_emails()
    assert emails.count() == len(mailoutbox) == 3
    sent = {message.to[0]: message for message in mailoutbox}
    for draft, customer in zip(drafts[:3], customers[:3], strict=True):
        draft.refresh_from_db()
        message = sent[customer.email]
        assert draft.number in message.subject
        assert f"Total: ${draft.total / 100:,.2f}" in message.body


def test_the_setting_turns_the_email_off(api, mailoutbox, settings):
    settings.TALLY_EMAIL_INVOICE_FINALIZED = False
    draft = cycle_draft(CustomerFactory(email="jenny@example.com"))

    assert api.post(f"/v1/invoices/{draft.pk}/finalize").status_code == 200

    assert mailoutbox == []
    assert not finalized_emails().exists()

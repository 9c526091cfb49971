"""The "invoice sent" email: subject, plain-text and HTML parts, to the cent."""

from __future__ import annotations

import pytest

from core.models import OutboundEmail
from tests.core.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_sending_an_invoice_emails_both_parts_to_the_customer(
    api, mailoutbox, settings
):
    settings.TALLY_EMAIL_INVOICE_FINALIZED = False  # only the "sent" email here
    customer = CustomerFactory(
        name="Acme Corp", email="ap@acme.example", invoice_prefix="ACME"
    )
    invoice = api.post(
        "/v1/invoices",
        {
            "customer": customer.pk,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "currency": "usd",
        },
    ).json()
    for amount, description in ((1234, "Setup"), (66, "Support & <care>")):
        api.post(
            "/v1/invoiceitems",
            {
                "customer": customer.pk,
                "invoice": invoice["id"],
                "amount": amount,
                "currency": "usd",
                "description": description,
            },
        )
    api.post(f"/v1/invoices/{invoice['id']}/finalize")
    assert api.post(f"/v1/invoices/{invoice['id']}/send").status_code == 200

    (message,) = mailoutbox
    assert message.to == ["ap@acme.example"]
    assert message.subject.startswith("Invoice ACME-0001 from Tally — $13.00 due ")
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    for body, description in (
        (message.body, "Support & <care>"),
        (html, "Support &amp; &lt;care&gt;"),
    ):
        assert "Acme Corp" in body
        assert "ACME-0001" in body
        assert "$12.34" in body
        assert "$0.66" in body
        assert "$13.00" in body
        assert description in body
    email = OutboundEmail.objects.get(template="billing/email/invoice")
    assert (email.status, email.subject) == ("sent", message.subject)

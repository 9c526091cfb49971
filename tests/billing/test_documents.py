"""Invoice PDFs: what they print, page after page, the same bytes every time."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.documents.document import (
    AmountRow,
    DocumentLine,
    InvoiceDocument,
    Party,
    UsageDetail,
)
from billing.documents.files import (
    invoice_pdf_bytes,
    invoice_pdf_path,
    invoice_pdf_render,
)
from billing.documents.pdf import document_pdf
from billing.documents.selectors import invoice_document
from billing.models import Invoice
from billing.services import (
    invoice_create,
    invoice_finalize,
    invoice_item_create,
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from core.errors import InvalidState
from credits.services import credit_grant_create
from tests.billing.factories import (
    CustomerFactory,
    MeterFactory,
    PriceFactory,
    ProductFactory,
    hypernian,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
SELLER = {
    "name": "Sørensen Cloud ApS",
    "address": ["Vesterbrogade 1", "1620 København V", "Denmark"],
    "email": "billing@sorensen.example",
    "tax_id": "DK12345678",
    "payment_instructions": "IBAN DK50 0040 0440 1162 43, reference the number.",
}


def pdf_text(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return "\n".join(page.extract_text() for page in pages)


def pdf_pages(content: bytes) -> int:
    return len(PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def seller(db, settings, tmp_path):
    settings.TALLY_SELLER = SELLER
    settings.TALLY_DOCUMENTS_DIR = tmp_path / "documents"
    return SELLER


@pytest.fixture
def cycle_invoice(db, seller) -> Invoice:
    """April closed: 150,000 tokens (graduated: 100,000 free, then 0.1 cent) =
    50.00, May's 200.00 seats, 10.00 of "Launch credits" on the usage."""
    customer = CustomerFactory(
        name="Zoë Müller GmbH",
        email="zoe@müller.example",
        address={
            "line1": "Hauptstraße 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "DE",
        },
    )
    flat, overage = hypernian(meter=MeterFactory(display_name="API tokens"))
    credit_grant_create(
        customer=customer, value=1_000, currency="usd", now=APR1, name="Launch credits"
    )
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    record_usage(
        meter=overage.recurring_meter,
        customer=customer,
        value=150_000,
        at=APR1 + timedelta(days=3),
    )
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + timedelta(hours=1))
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (
        25_000,
        24_000,
        24_000,
    )
    return invoice


def test_the_pdf_prints_seller_buyer_lines_usage_and_totals(cycle_invoice):
    text = pdf_text(invoice_pdf_render(invoice=cycle_invoice))
    lines = list(cycle_invoice.lines.order_by("position"))
    expected = [
        f"Invoice number {cycle_invoice.number}",
        # Seller (settings), with their accents and the kroner-free address.
        "Sørensen Cloud ApS",
        "1620 København V",
        "DK12345678",
        # Buyer, as frozen on the invoice.
        "Zoë Müller GmbH",
        "Hauptstraße 1",
        "10115 Berlin",
        "zoe@müller.example",
        # Dates.
        "Date of issue May 1, 2026",
        "Billing period Apr 1 – May 1, 2026",
        # The usage behind the metered line: meter, period, quantity, tiers.
        "API tokens · Apr 1 – May 1, 2026 · 150,000 tokens",
        "Tier 2: 50,000 × $0.001 = $50.00",
        # Credits, under the line and in the totals, by grant name.
        "Applied credits (Launch credits) -$10.00",
        "Subtotal $250.00",
        "Total $240.00",
        "Amount due $240.00",
        "IBAN DK50 0040 0440 1162 43, reference the number.",
        cycle_invoice.pk,
    ]
    expected += [line.description for line in lines]
    for snippet in expected:
        assert snippet in text, snippet
    assert text.count("Applied credits (Launch credits) -$10.00") == 2


def test_the_document_orders_the_totals_as_stripe():
    document = InvoiceDocument(
        title="Invoice",
        number="X-0001",
        reference="in_x",
        currency="usd",
        livemode=False,
        seller=Party("Seller"),
        buyer=Party("Buyer"),
        dates=(),
        issued_at=APR1,
        lines=(),
        subtotal=10_000,
        discounts=(AmountRow("Discount", -1_000),),
        credits=(AmountRow("Applied credits", -500),),
        taxes=(AmountRow("VAT 20%", 1_700),),
        total=10_200,
        balance=(AmountRow("Applied balance", -200),),
        amount_due=10_000,
    )
    assert document.totals_block() == [
        ("Subtotal", 10_000, False),
        ("Discount", -1_000, False),
        ("Applied credits", -500, False),
        ("Total excluding tax", 8_500, False),
        ("VAT 20%", 1_700, False),
        ("Total", 10_200, True),
        ("Applied balance", -200, False),
        ("Amount due", 10_000, True),
    ]


def test_a_credit_balance_shows_as_applied_balance(seller):
    customer = CustomerFactory(name="Åsa Öberg", balance=-3_000)  # 30.00 of credit
    invoice = invoice_create(customer=customer, params={"currency": "eur"}, now=APR1)
    price = PriceFactory(one_time=True, currency="eur", unit_amount_decimal=5_000)
    invoice_item_create(
        customer=customer, params={"price": price, "invoice": invoice.pk}, now=APR1
    )
    invoice = invoice_finalize(invoice=invoice, now=APR1)
    assert (invoice.total, invoice.amount_due) == (5_000, 2_000)
    document = invoice_document(invoice=invoice)
    assert document.balance == (AmountRow("Applied balance", -3_000),)
    text = pdf_text(document_pdf(document))
    for snippet in (
        "Åsa Öberg",
        "Total €50.00",
        "Applied balance -€30.00",
        "Amount due €20.00",
        "Customer balance: -€30.00 before this invoice, €0.00 after.",
    ):
        assert snippet in text, snippet


def test_a_credit_note_draws_on_the_same_layout():
    note = InvoiceDocument(
        title="Credit note",
        number="ZOE-0001-CN-01",
        reference="cn_123",
        currency="gbp",
        livemode=True,
        seller=Party("Seller"),
        buyer=Party("Zoë Müller"),
        dates=(("Date of issue", "May 2, 2026"), ("Invoice", "ZOE-0001")),
        issued_at=MAY1,
        lines=(DocumentLine(description="Seats × 2", amount=2_000),),
        subtotal=2_000,
        total=2_000,
        balance=(AmountRow("Credited to customer balance", -2_000),),
        amount_due=2_000,
        amount_due_label="Amount credited",
    )
    text = pdf_text(document_pdf(note))
    for snippet in (
        "Credit note number ZOE-0001-CN-01",
        "Invoice ZOE-0001",
        "Seats × 2",
        "Credited to customer balance -£20.00",
        "Amount credited £20.00",
    ):
        assert snippet in text, snippet


def _long_document(count: int) -> InvoiceDocument:
    usage = UsageDetail(
        meter="API tokens",
        period_start=APR1,
        period_end=MAY1,
        quantity=Decimal(1_000),
        unit="tokens",
        breakdown=("1,000 × $0.01",),
    )
    lines = tuple(
        DocumentLine(
            description=f"Line {index:03d} · Überlänge",
            amount=1_000,
            quantity=Decimal(1_000),
            unit_amount=Decimal(1),
            usage=usage if index % 2 else None,
        )
        for index in range(count)
    )
    return InvoiceDocument(
        title="Invoice",
        number="LONG-0001",
        reference="in_long",
        currency="usd",
        livemode=True,
        seller=Party("Seller", address=("1 Road",)),
        buyer=Party("Buyer"),
        dates=(("Date of issue", "Apr 1, 2026"),),
        issued_at=APR1,
        lines=lines,
        subtotal=1_000 * count,
        total=1_000 * count,
        amount_due=1_000 * count,
    )


def test_a_long_invoice_flows_over_pages_with_every_line():
    content = document_pdf(_long_document(300))
    pages = pdf_pages(content)
    assert pages > 5
    text = pdf_text(content)
    for index in range(300):
        assert f"Line {index:03d} · Überlänge" in text
    assert f"Page 1 of {pages}" in text
    assert f"Page {pages} of {pages}" in text
    last = PdfReader(io.BytesIO(content)).pages[-1].extract_text()
    assert "Amount due $3,000.00" in last
    # The heading repeats on every page.
    assert text.count("Description Qty Unit price Amount") == pages - (
        "Description" not in last
    )


def test_the_same_invoice_renders_the_same_bytes_and_is_kept(cycle_invoice):
    first = invoice_pdf_render(invoice=cycle_invoice)
    assert invoice_pdf_render(invoice=cycle_invoice) == first
    path = invoice_pdf_path(cycle_invoice)
    assert not path.exists()
    assert invoice_pdf_bytes(invoice=cycle_invoice) == first
    assert path.read_bytes() == first
    # Kept: the file answers, even when the rendering would now differ.
    path.write_bytes(b"%PDF-kept")
    assert invoice_pdf_bytes(invoice=cycle_invoice) == b"%PDF-kept"


def test_a_draft_has_no_pdf(seller):
    customer = CustomerFactory()
    draft = invoice_create(customer=customer, params={}, now=APR1)
    with pytest.raises(InvalidState):
        invoice_pdf_render(invoice=draft)


def test_usage_after_a_threshold_invoice_is_shown_on_top_of_what_was_billed(seller):
    """A second usage line of a period prints the usage to date less the earlier."""
    customer = CustomerFactory(name="Tier Tester")
    product = ProductFactory(name="Tokens", unit_label="token")
    price = PriceFactory(product=product, metered=True, unit_amount_decimal=2)
    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    item = sub.items.get()
    first = Invoice.objects.get(subscription=sub)
    line = first.lines.get()
    # Pretend the first invoice billed 300 tokens of April already.
    from billing.models import InvoiceLineItem

    InvoiceLineItem.objects.create(
        invoice=invoice_create(customer=customer, params={}, now=APR1),
        position=0,
        kind="metered",
        amount=600,
        currency="usd",
        description="earlier",
        period_start=line.period_start,
        period_end=line.period_end,
        price=price,
        quantity=Decimal(300),
        subscription_id=sub.pk,
        subscription_item_id=item.pk,
        created=APR1,
    )
    record_usage(
        meter=price.recurring_meter,
        customer=customer,
        value=500,
        at=APR1 + timedelta(days=1),
    )
    subscriptions_close_due(now=MAY1)
    cycle = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    cycle = invoice_finalize(invoice=cycle, now=MAY1)
    (usage_line,) = [
        line for line in invoice_document(invoice=cycle).lines if line.usage
    ]
    assert usage_line.amount == 400  # 500 − 300 tokens × 2 cents
    assert usage_line.usage.breakdown == (
        "Usage to date: 500 tokens",
        "500 × $0.02",
        "Less 300 billed on earlier invoices: −$6.00",
    )

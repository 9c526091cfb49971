"""Taxes on real invoices, to the cent: every price model × exclusive / inclusive ×
one and two rates on a line × exempt / reverse-charge customers; credits before
tax; rates frozen after use; the database keeps finalized taxes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.models import Invoice, TaxRate
from billing.services import (
    invoice_create,
    invoice_finalize_manual,
    invoice_item_create,
    invoice_preview,
    subscription_create,
)
from billing.taxes.customer_tax_ids import tax_id_create
from billing.taxes.rates import tax_rate_create, tax_rate_update
from core.errors import InvalidRequest, ResourceMissing
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    hypernian,
    record_usage,
    tiered_price,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db

GRADUATED_TIERS = [(5, "700", "0"), (10, "650", "0"), (None, "600", "0")]


def rate(percentage: str, inclusive: bool = False, name: str = "VAT") -> TaxRate:
    return tax_rate_create(
        params={
            "display_name": name,
            "percentage": Decimal(percentage),
            "inclusive": inclusive,
        },
        now=APR1,
    )


# (price model, quantity): the line amounts are the design's worked examples.
PRICE_MODELS = {
    # 3 × 10.00
    "per_unit": (lambda: PriceFactory(unit_amount_decimal=Decimal(1000)), 3, 3000),
    # 250 units in packages of 100 (rounded up) at 5.00
    "package": (
        lambda: PriceFactory(
            unit_amount_decimal=Decimal(500),
            transform_quantity_divide_by=100,
            transform_quantity_round="up",
        ),
        250,
        1500,
    ),
    # tiers 1–5 @ 7.00, 6–10 @ 6.50, 11+ @ 6.00: qty 6 → volume 39.00
    "volume": (lambda: tiered_price(mode="volume", tiers=GRADUATED_TIERS), 6, 3900),
    # ... and graduated 41.50
    "graduated": (
        lambda: tiered_price(mode="graduated", tiers=GRADUATED_TIERS),
        6,
        4150,
    ),
}

# (rates as (percentage, inclusive)) -> per model: (line taxes, total)
CASES = {
    "exclusive 19%": (
        [("19", False)],
        {
            "per_unit": ([570], 3570),
            "package": ([285], 1785),
            "volume": ([741], 4641),
            "graduated": ([789], 4939),  # 788.5 rounds up
        },
    ),
    "exclusive 19% + 7.25%": (
        [("19", False), ("7.25", False)],
        {
            "per_unit": ([570, 218], 3788),  # 217.5 rounds up
            "package": ([285, 109], 1894),
            "volume": ([741, 283], 4924),
            "graduated": ([789, 301], 5240),
        },
    ),
    "inclusive 19%": (
        [("19", True)],
        {
            "per_unit": ([479], 3000),
            "package": ([239], 1500),
            "volume": ([623], 3900),
            "graduated": ([663], 4150),
        },
    ),
    "inclusive 19% + 7.25%": (
        [("19", True), ("7.25", True)],
        {
            "per_unit": ([451, 172], 3000),
            "package": ([226, 86], 1500),
            "volume": ([587, 224], 3900),
            "graduated": ([625, 238], 4150),
        },
    ),
}


def first_invoice(model: str, rates: list[TaxRate], *, on_item: bool, exempt="none"):
    make_price, quantity, _amount = PRICE_MODELS[model]
    customer = CustomerFactory(tax_exempt=exempt)
    ids = [r.pk for r in rates]
    item = {"price": make_price().pk, "quantity": quantity}
    params = {"items": [item]}
    if on_item:
        item["tax_rates"] = ids
    else:
        params["default_tax_rates"] = ids
    sub = subscription_create(customer=customer, params=params, now=APR1)
    invoice = Invoice.objects.get(pk=sub.latest_invoice_id)
    return invoice, invoice.lines.get()


@pytest.mark.parametrize("model", sorted(PRICE_MODELS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_price_model_by_tax_case(model, case):
    specs, expected = CASES[case]
    rates = [rate(p, inclusive) for p, inclusive in specs]
    line_taxes, total = expected[model]
    amount = PRICE_MODELS[model][2]
    invoice, line = first_invoice(model, rates, on_item=model in ("package", "volume"))
    assert line.amount == amount
    assert [entry["amount"] for entry in line.taxes] == line_taxes
    assert [entry["tax_rate_details"]["tax_rate"] for entry in line.taxes] == [
        r.pk for r in rates
    ]
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (
        amount,
        total,
        total,
    )
    assert sum(e["amount"] for e in invoice.total_taxes) == sum(line_taxes)
    inclusive = specs[0][1]
    net = amount - sum(line_taxes) if inclusive else amount
    assert {entry["taxable_amount"] for entry in line.taxes} == {net}
    assert {e["tax_behavior"] for e in invoice.total_taxes} == {
        "inclusive" if inclusive else "exclusive"
    }


@pytest.mark.parametrize(
    ("status", "reason"),
    [("exempt", "customer_exempt"), ("reverse", "reverse_charge")],
)
@pytest.mark.parametrize("model", sorted(PRICE_MODELS))
@pytest.mark.parametrize("inclusive", [False, True])
def test_exempt_and_reverse_charge_customers(status, reason, model, inclusive):
    rates = [rate("19", inclusive), rate("7.25", inclusive)]
    invoice, line = first_invoice(model, rates, on_item=False, exempt=status)
    amount = PRICE_MODELS[model][2]
    assert (invoice.subtotal, invoice.total) == (amount, amount)
    assert [entry["amount"] for entry in line.taxes] == [0, 0]
    assert {entry["taxability_reason"] for entry in line.taxes} == {reason}
    assert invoice.customer_tax_exempt == status
    assert invoice.reverse_charge is (status == "reverse")


def test_an_items_rates_replace_the_subscriptions_defaults():
    vat, reduced = rate("19"), rate("7", name="Reduced VAT")
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={
            "items": [
                {"price": PriceFactory().pk, "quantity": 1},
                {"price": PriceFactory().pk, "quantity": 1, "tax_rates": [reduced.pk]},
            ],
            "default_tax_rates": [vat.pk],
        },
        now=APR1,
    )
    invoice = Invoice.objects.get(pk=sub.latest_invoice_id)
    assert invoice.default_tax_rates == [vat.pk]
    first, second = invoice.lines.order_by("position")
    assert [(e["tax_rate_details"]["tax_rate"], e["amount"]) for e in first.taxes] == [
        (vat.pk, 190)
    ]
    assert [(e["tax_rate_details"]["tax_rate"], e["amount"]) for e in second.taxes] == [
        (reduced.pk, 70)
    ]
    assert invoice.total == 2000 + 190 + 70


def test_credits_apply_before_tax():
    from credits.services import credit_grant_create

    vat = rate("20")
    flat, overage = hypernian()
    customer = CustomerFactory()
    credit_grant_create(
        customer=customer, value=1000, currency="usd", name="Promo", now=APR1
    )
    sub = subscription_create(
        customer=customer,
        params={
            "items": [{"price": flat.pk}, {"price": overage.pk}],
            "default_tax_rates": [vat.pk],
        },
        now=APR1,
    )
    record_usage(
        meter=overage.recurring_meter, customer=customer, value=150_000, at=APR1
    )
    from billing.services import invoices_finalize_due, subscriptions_close_due

    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + timedelta(hours=2))
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    usage, licensed = sorted(
        invoice.lines.all(), key=lambda line: line.kind != "metered"
    )
    # Usage 50.00, credits 10.00: VAT on 40.00; the seats' 200.00 at full VAT.
    assert usage.amount == 5000
    assert [(e["taxable_amount"], e["amount"]) for e in usage.taxes] == [(4000, 800)]
    assert [(e["taxable_amount"], e["amount"]) for e in licensed.taxes] == [
        (20000, 4000)
    ]
    assert invoice.total == 25000 - 1000 + 4800


def one_off(customer, rates, **item):
    invoice = invoice_create(
        customer=customer,
        params={"currency": "usd", "default_tax_rates": [r.pk for r in rates]},
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={"invoice": invoice.pk, "currency": "usd", **item},
        now=APR1,
    )
    return invoice


def test_one_off_invoice_with_item_rates_and_customer_tax_ids():
    vat, reduced = rate("19"), rate("7", name="Reduced")
    customer = CustomerFactory(tax_exempt="reverse")
    tax_id_create(customer=customer, tax_type="eu_vat", value="DE136695976", now=APR1)
    invoice = one_off(customer, [vat], amount=10000)
    invoice_item_create(
        customer=customer,
        params={
            "invoice": invoice.pk,
            "currency": "usd",
            "amount": 5000,
            "tax_rates": [reduced.pk],
        },
        now=APR1,
    )
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1)
    assert invoice.customer_tax_ids == [{"type": "eu_vat", "value": "DE136695976"}]
    assert invoice.customer_tax_exempt == "reverse"
    assert invoice.total == 15000
    assert [
        (e["tax_rate_details"]["tax_rate"], e["taxability_reason"])
        for e in invoice.total_taxes
    ] == [(vat.pk, "reverse_charge"), (reduced.pk, "reverse_charge")]


def test_a_rate_used_on_a_finalized_invoice_keeps_its_percentage():
    vat = rate("19")
    tax_rate_update(rate=vat, params={"percentage": Decimal(20)})  # unused: allowed
    invoice = one_off(CustomerFactory(), [vat], amount=1000)
    tax_rate_update(rate=vat, params={"inclusive": True})  # on a draft only
    tax_rate_update(rate=vat, params={"inclusive": False})
    invoice_finalize_manual(invoice=invoice, now=APR1)
    vat.refresh_from_db()
    assert vat.used_at == APR1
    for change in ({"percentage": Decimal(21)}, {"inclusive": True}):
        with pytest.raises(InvalidRequest) as info:
            tax_rate_update(rate=vat, params=change)
        assert info.value.code == "tax_rate_in_use"
    tax_rate_update(
        rate=vat,
        params={
            "display_name": "MwSt",
            "description": "Germany",
            "jurisdiction": "DE",
            "country": "DE",
            "active": False,
            "percentage": Decimal(20),  # unchanged: fine
        },
    )
    vat.refresh_from_db()
    assert (vat.display_name, vat.percentage, vat.active) == ("MwSt", 20, False)


def test_archived_or_unknown_rates_cannot_be_applied():
    vat = rate("19")
    tax_rate_update(rate=vat, params={"active": False})
    customer = CustomerFactory()
    with pytest.raises(InvalidRequest) as info:
        invoice_create(
            customer=customer,
            params={"currency": "usd", "default_tax_rates": [vat.pk]},
            now=APR1,
        )
    assert info.value.param == "default_tax_rates[0]"
    with pytest.raises(ResourceMissing):
        invoice_item_create(
            customer=customer,
            params={"amount": 100, "currency": "usd", "tax_rates": ["txr_nope"]},
            now=APR1,
        )


def test_an_archived_rate_keeps_working_where_it_is_set():
    vat = rate("10")
    customer = CustomerFactory()
    invoice = one_off(customer, [vat], amount=1000)
    tax_rate_update(rate=vat, params={"active": False})
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1)
    assert invoice.total == 1100


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_changing_a_finalized_invoices_taxes():
    vat = rate("19")
    invoice = one_off(CustomerFactory(), [vat], amount=1000)
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1)
    for change in (
        {"total_taxes": []},
        {"customer_tax_exempt": "exempt"},
        {"customer_tax_ids": [{"type": "eu_vat", "value": "DE1"}]},
        {"default_tax_rates": []},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(**change)


def test_preview_equals_the_invoice_with_taxes():
    vat, city = rate("19"), rate("7.25", name="City")
    vat_in = rate("20", inclusive=True)
    flat, overage = hypernian()
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={
            "items": [
                {"price": flat.pk, "quantity": 2, "tax_rates": [vat_in.pk]},
                {"price": overage.pk},
            ],
            "default_tax_rates": [vat.pk, city.pk],
        },
        now=APR1,
    )
    record_usage(
        meter=overage.recurring_meter, customer=customer, value=123_457, at=APR1
    )
    invoice_item_create(
        customer=customer,
        params={"amount": 3333, "currency": "usd", "description": "Setup"},
        now=APR1,
    )
    from billing.services import invoices_finalize_due, subscriptions_close_due

    preview = invoice_preview(customer=customer, subscription=None, now=MAY1)
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + timedelta(hours=2))
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    lines = list(invoice.lines.order_by("position"))
    assert [line["taxes"] for line in preview["lines"]["data"]] == [
        line.taxes for line in lines
    ]
    assert preview["total_taxes"] == invoice.total_taxes
    assert (preview["subtotal"], preview["total"], preview["total_excluding_tax"]) == (
        invoice.subtotal,
        invoice.total,
        invoice.total - sum(e["amount"] for e in invoice.total_taxes),
    )
    # Usage 2,345.7 → 2,346 (half up), the setup fee: 19% + 7.25%; seats incl. 20%.
    usage = next(line for line in lines if line.kind == "metered")
    assert usage.amount == 2346
    assert [e["amount"] for e in usage.taxes] == [446, 170]
    seats = next(line for line in lines if line.kind == "licensed")
    assert [(e["amount"], e["taxable_amount"]) for e in seats.taxes] == [(6667, 33333)]


def test_the_pdf_prints_each_rate_and_the_total_excluding_tax():
    from billing.documents.files import invoice_pdf_bytes
    from tests.billing.test_documents import pdf_text

    vat, included = rate("19"), rate("10", inclusive=True, name="GST")
    invoice = one_off(
        CustomerFactory(), [vat, included], amount=11000, description="Consulting"
    )
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1 + timedelta(hours=1))
    # 110.00 holds 10.00 of GST; VAT is 19 % of the 100.00 without it: 19.00.
    assert (invoice.subtotal, invoice.total) == (11000, 12900)
    text = pdf_text(invoice_pdf_bytes(invoice=invoice))
    assert "VAT 19% (excl.)" in text
    assert "GST 10% (incl.)" in text
    assert "Total excluding tax" in text
    for amount in ("$100.00", "$19.00", "$129.00"):
        assert amount in text

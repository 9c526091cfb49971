"""Step 6, tax: tax rates on what is left after discounts and credits.

Reads ``lines`` less ``discounts`` and ``credits`` per line (Stripe taxes the
amount after discounts and pretax credits), each line's ``tax_rates`` (else the
invoice's ``default_tax_rates``), the rates' specs and the customer's tax
status; asks the tax provider (``billing.taxes.provider``) and writes ``taxes``:
one ``LineTax`` per line and rate, rounded per line. Exclusive taxes add to the
total; inclusive ones are contained in the line amounts and change no total.
A draft whose lines name no rate is returned unchanged, without a call.
"""

from __future__ import annotations

from dataclasses import replace

from billing.compose.draft import InvoiceDraft
from billing.taxes.provider import TaxableLine, TaxRequest, tax_provider


def taxable_amount(draft: InvoiceDraft, index: int) -> int:
    """What the line at ``index`` is taxed on: after discounts and credits."""
    line = draft.lines[index]
    discounted = sum(amount for at, amount in draft.discounts if at == index)
    credited = sum(a.amount for a in draft.credits_of(index))
    return line.amount - discounted - credited


def taxable_lines(draft: InvoiceDraft) -> tuple[TaxableLine, ...]:
    """The lines that name a tax rate, as the provider sees them."""
    taxable = []
    for index, line in enumerate(draft.lines):
        rates = line.tax_rates or draft.default_tax_rates
        if rates:
            taxable.append(
                TaxableLine(
                    index=index,
                    amount=taxable_amount(draft, index),
                    tax_rates=tuple(rates),
                    price_id=line.price.pk if line.price is not None else None,
                    tax_behavior=line.price.tax_behavior if line.price else None,
                )
            )
    return tuple(taxable)


def tax(draft: InvoiceDraft) -> InvoiceDraft:
    """Compute the invoice's taxes, per line and rate."""
    lines = taxable_lines(draft)
    if not lines:
        return replace(draft, taxes=()) if draft.taxes else draft
    request = TaxRequest(
        currency=draft.currency,
        lines=lines,
        customer=draft.tax_customer,
        rates={spec.id: spec for spec in draft.tax_rate_specs},
    )
    return replace(draft, taxes=tuple(tax_provider().calculate(request)))

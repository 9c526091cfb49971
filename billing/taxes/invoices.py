"""Taxes on written invoices: the tax step's inputs, and what it records.

``tax_context_for`` reads, for a batch of invoices, the rates their lines name
and their customers' tax ids (two queries at most, none when no line names a
rate); ``draft_tax_inputs`` hands one invoice's part to the pipeline's draft.
``taxes_record`` writes the step's result in Stripe's shapes: each line's
``taxes``, the invoice's ``total_taxes`` (per rate, behavior and reason), and
the customer's ``tax_exempt`` and tax ids as billed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from billing.taxes.calculate import LineTax, RateSpec
from billing.taxes.customer_tax_ids import tax_ids_by_customer
from billing.taxes.provider import TaxCustomer
from billing.taxes.rates import tax_rate_specs, tax_rates_mark_used


@dataclass(frozen=True)
class TaxContext:
    """What the tax step of a batch of invoices reads: rates, customers' tax ids."""

    rates: Mapping[str, RateSpec] = field(default_factory=dict)
    tax_ids: Mapping[str, list[dict]] = field(default_factory=dict)


def effective_rates(invoice, lines: Iterable) -> set[str]:
    """Rate ids the lines apply: their own, else the invoice's defaults."""
    defaults = list(invoice.default_tax_rates or [])
    used: set[str] = set()
    for line in lines:
        used.update(line.tax_rates or defaults)
    return used


def tax_context_for(
    *,
    invoices: Sequence,
    lines: Mapping[str, Sequence],
    now: datetime | None = None,
    tax_ids: bool = True,
) -> TaxContext:
    """Read the rates the invoices' lines apply and their customers' tax ids.

    With ``now`` (finalization) the rates are marked used first, which freezes
    their percentage before it is read (``billing.taxes.rates``).
    """
    ids: set[str] = set()
    for invoice in invoices:
        ids |= effective_rates(invoice, lines[invoice.pk])
    if now is not None:
        tax_rates_mark_used(ids, now=now)
    found = {}
    if tax_ids:
        found = tax_ids_by_customer({invoice.customer_id for invoice in invoices})
    return TaxContext(
        rates={spec.id: spec for spec in tax_rate_specs(ids)}, tax_ids=found
    )


def draft_tax_inputs(invoice, customer, context: TaxContext) -> dict[str, Any]:
    """The ``InvoiceDraft`` fields the tax step reads, for one invoice."""
    return {
        "default_tax_rates": tuple(invoice.default_tax_rates or ()),
        "tax_rate_specs": tuple(context.rates.values()),
        "tax_customer": TaxCustomer(
            tax_exempt=customer.tax_exempt,
            address=customer.address,
            tax_ids=tuple(
                (entry["type"], entry["value"])
                for entry in context.tax_ids.get(customer.pk, ())
            ),
        ),
    }


def tax_entry(tax: LineTax) -> dict[str, Any]:
    """One ``taxes[]`` entry of a line, Stripe's shape."""
    return {
        "amount": tax.amount,
        "tax_behavior": "inclusive" if tax.inclusive else "exclusive",
        "tax_rate_details": {"tax_rate": tax.tax_rate},
        "taxability_reason": tax.taxability_reason,
        "taxable_amount": tax.taxable_amount,
        "type": "tax_rate_details",
    }


def total_taxes(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The invoice's ``total_taxes``: line entries summed per rate, behavior, reason."""
    totals: dict[tuple, dict[str, Any]] = {}
    for entry in entries:
        key = (
            entry["tax_rate_details"]["tax_rate"],
            entry["tax_behavior"],
            entry["taxability_reason"],
        )
        if key not in totals:
            totals[key] = {**entry, "amount": 0, "taxable_amount": 0}
        totals[key]["amount"] += entry["amount"]
        totals[key]["taxable_amount"] += entry["taxable_amount"]
    return list(totals.values())


def taxes_record(invoice, lines: Sequence, draft, tax_ids: list[dict] | None) -> None:
    """Copy the draft's taxes onto the lines and the invoice (unsaved)."""
    by_line: dict[int, list[dict]] = {}
    for tax in draft.taxes:
        by_line.setdefault(tax.line, []).append(tax_entry(tax))
    for index, line in enumerate(lines):
        line.taxes = by_line.get(index, [])
    invoice.total_taxes = total_taxes(entry for line in lines for entry in line.taxes)
    invoice.customer_tax_exempt = draft.tax_customer.tax_exempt
    if tax_ids is not None:
        invoice.customer_tax_ids = tax_ids


def amounts_excluding_tax(invoice) -> tuple[int, int]:
    """(``subtotal_excluding_tax``, ``total_excluding_tax``) of an invoice.

    The subtotal less the inclusive taxes it contains; the total less every tax.
    """
    inclusive = exclusive = 0
    for entry in invoice.total_taxes or ():
        if entry["tax_behavior"] == "inclusive":
            inclusive += entry["amount"]
        else:
            exclusive += entry["amount"]
    return invoice.subtotal - inclusive, invoice.total - inclusive - exclusive

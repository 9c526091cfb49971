"""Taxes as invoice pages show them: per line, and the invoice's breakdown.

One query for the rates' names however many lines. A draft has no taxes yet
(they are computed at finalization); its lines show the rates they will apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from billing.models import TaxRate


def _label(rate: TaxRate | None, rate_id: str) -> str:
    if rate is None:
        return rate_id
    text = f"{rate.display_name} {rate.percentage.normalize():f}%"
    if rate.jurisdiction:
        text += f" ({rate.jurisdiction})"
    return text


def _rate_ids(invoice, lines: Sequence) -> set[str]:
    ids = set(invoice.default_tax_rates or ())
    for line in lines:
        ids.update(line.tax_rates or ())
        ids.update(e["tax_rate_details"]["tax_rate"] for e in line.taxes or ())
    ids.update(e["tax_rate_details"]["tax_rate"] for e in invoice.total_taxes or ())
    return ids


def invoice_tax_display(invoice, lines: Sequence) -> dict[str, Any]:
    """``line_taxes`` (per line, in order), ``tax_breakdown``, totals without tax."""
    ids = _rate_ids(invoice, lines)
    rates = TaxRate._base_manager.in_bulk(list(ids)) if ids else {}
    per_line = []
    for line in lines:
        if line.taxes:
            shown = [
                {
                    "label": _label(rates.get(rate_id), rate_id),
                    "amount": entry["amount"],
                    "inclusive": entry["tax_behavior"] == "inclusive",
                }
                for entry in line.taxes
                for rate_id in [entry["tax_rate_details"]["tax_rate"]]
            ]
        else:
            pending = line.tax_rates or invoice.default_tax_rates or ()
            shown = [
                {"label": _label(rates.get(rate_id), rate_id), "amount": None}
                for rate_id in pending
            ]
        per_line.append(shown)
    breakdown = [
        {
            "label": _label(rates.get(rate_id), rate_id),
            "amount": entry["amount"],
            "taxable_amount": entry["taxable_amount"],
            "inclusive": entry["tax_behavior"] == "inclusive",
            "reason": entry["taxability_reason"],
        }
        for entry in invoice.total_taxes or ()
        for rate_id in [entry["tax_rate_details"]["tax_rate"]]
    ]
    return {"line_taxes": per_line, "tax_breakdown": breakdown}

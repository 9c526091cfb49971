"""The amount rows of a document, one small function per part of the pipeline.

Each reads the Stripe-shaped field its pipeline step fills on the invoice or the
line, so a step that starts filling its field shows up on every document:

- discounts: ``total_discount_amounts`` / line ``discount_amounts``
  (``[{amount, discount}]``), labelled by coupon name and terms;
- credits: ``total_pretax_credit_amounts`` / line ``pretax_credit_amounts``
  (``[{amount, type, credit_balance_transaction}]``), labelled by grant name;
- taxes: ``total_taxes`` / line ``taxes`` (``[{amount, taxable_amount,
  tax_rate_details: {tax_rate}, ...}]``); none until tax rates fill them;
- balance: what the customer's balance moved, and the credit notes that lowered
  the amount due since (``amount_due + pre_payment_credit_notes_amount − total``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from billing.documents.document import AmountRow
from billing.models import Discount, Invoice
from core.money import format_minor
from credits.models import CreditBalanceTransaction


def _entries(obj, field: str) -> list[dict]:
    """A Stripe amounts list the object may not have yet (before its step lands)."""
    return list(getattr(obj, field, None) or ())


def grant_names(entries: Iterable[dict]) -> dict[str, str]:
    """Credit balance transaction id → its grant's name ("" if unnamed), one query."""
    ids = {entry["credit_balance_transaction"] for entry in entries}
    if not ids:
        return {}
    rows = CreditBalanceTransaction.objects.filter(pk__in=ids).values_list(
        "pk", "credit_grant__name"
    )
    return {pk: name or "" for pk, name in rows}


def _credit_label(name: str) -> str:
    return f"Applied credits ({name})" if name else "Applied credits"


def credit_rows(entries: Iterable[dict], names: Mapping[str, str]) -> list[AmountRow]:
    """One negative row per grant, in the order the grants were applied."""
    by_grant: dict[str, int] = {}
    for entry in entries:
        label = _credit_label(names.get(entry["credit_balance_transaction"], ""))
        by_grant[label] = by_grant.get(label, 0) + entry["amount"]
    return [AmountRow(label, -amount) for label, amount in by_grant.items()]


def coupon_label(coupon, promotion_code: str | None = None) -> str:
    """'Launch (20% off)', 'Welcome (WELCOME10, $10.00 off)': as Stripe prints a
    discount beside its amount, the coupon's name and what it takes off."""
    if coupon.percent_off is not None:
        terms = f"{coupon.percent_off.normalize():f}% off"
    else:
        terms = f"{format_minor(coupon.amount_off, coupon.currency)} off"
    if promotion_code:
        terms = f"{promotion_code}, {terms}"
    return f"{coupon.name or coupon.pk} ({terms})"


def discount_labels(entries: Iterable[dict]) -> dict[str, str]:
    """Discount id → its label (``coupon_label``), in one read."""
    ids = {entry["discount"] for entry in entries if entry.get("discount")}
    if not ids:
        return {}
    found = Discount.objects.select_related("coupon", "promotion_code").in_bulk(ids)
    return {
        pk: coupon_label(
            discount.coupon,
            discount.promotion_code.code if discount.promotion_code_id else None,
        )
        for pk, discount in found.items()
    }


def discount_rows(
    entries: Iterable[dict], labels: Mapping[str, str] | None = None
) -> list[AmountRow]:
    """One negative row per discount (Stripe's ``discount_amounts``), labelled by
    its coupon (``labels``: from ``discount_labels``)."""
    labels = labels or {}
    by_discount: dict[str, int] = {}
    for entry in entries:
        label = labels.get(entry.get("discount")) or "Discount"
        by_discount[label] = by_discount.get(label, 0) + entry["amount"]
    return [AmountRow(label, -amount) for label, amount in by_discount.items()]


def tax_rate_names(entries: Iterable[dict]) -> dict[str, str]:
    """The tax rates the entries name, as printed: "VAT 20% (excl.)" (one read)."""
    from billing.models import TaxRate

    ids = {entry["tax_rate_details"]["tax_rate"] for entry in entries}
    return {rate.pk: str(rate) for rate in TaxRate.objects.filter(pk__in=ids)}


def _tax_label(entry: dict, currency: str, names: Mapping[str, str]) -> str:
    rate = (entry.get("tax_rate_details") or {}).get("tax_rate")
    label = names.get(rate) or entry.get("label") or "Tax"
    taxable = entry.get("taxable_amount")
    if taxable is None:
        return label
    return f"{label} on {format_minor(taxable, currency)}"


def tax_rows(
    entries: Iterable[dict], currency: str, names: Mapping[str, str]
) -> list[AmountRow]:
    """One row per tax (Stripe's ``taxes``), with the amount it was taken on."""
    return [
        AmountRow(_tax_label(entry, currency, names), entry["amount"])
        for entry in entries
    ]


def invoice_discount_rows(
    invoice: Invoice, labels: Mapping[str, str]
) -> list[AmountRow]:
    return discount_rows(_entries(invoice, "total_discount_amounts"), labels)


def invoice_tax_rows(invoice: Invoice, names: Mapping[str, str]) -> list[AmountRow]:
    return tax_rows(_entries(invoice, "total_taxes"), invoice.currency, names)


def invoice_credit_rows(invoice: Invoice, names: Mapping[str, str]) -> list[AmountRow]:
    return credit_rows(invoice.total_pretax_credit_amounts, names)


def balance_rows(invoice: Invoice) -> list[AmountRow]:
    """What separates the total from the amount due: the customer balance applied
    (negative when a credit balance paid part), then the credit notes that lowered
    what the invoice asks (``pre_payment_credit_notes_amount``)."""
    credited = invoice.pre_payment_credit_notes_amount
    applied = invoice.amount_due + credited - invoice.total
    rows = [AmountRow("Applied balance", applied)] if applied else []
    if credited:
        rows.append(AmountRow("Credit notes", -credited))
    return rows


def line_adjustments(
    line,
    names: Mapping[str, str],
    tax_names: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
    currency: str | None = None,
) -> tuple[AmountRow, ...]:
    """What discounts, credits and taxes did to one line (of an invoice or a
    credit note), as printed under it."""
    return (
        *discount_rows(_entries(line, "discount_amounts"), labels),
        *credit_rows(_entries(line, "pretax_credit_amounts"), names),
        *tax_rows(_entries(line, "taxes"), currency or line.currency, tax_names),
    )


def balance_notes(invoice: Invoice) -> list[str]:
    """The customer's balance before and after, when the invoice touched it."""
    if not invoice.starting_balance and not invoice.ending_balance:
        return []
    start = format_minor(invoice.starting_balance, invoice.currency)
    end = format_minor(invoice.ending_balance or 0, invoice.currency)
    return [f"Customer balance: {start} before this invoice, {end} after."]


def reverse_charge_notes(invoice: Invoice) -> list[str]:
    """Reverse charge, when the customer as billed accounts for the tax (Stripe's
    ``customer_tax_exempt``; none until the invoice records it)."""
    if getattr(invoice, "customer_tax_exempt", None) == "reverse":
        return ["Reverse charge: the customer accounts for the tax."]
    return []

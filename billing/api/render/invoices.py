"""Invoices, their lines and invoice items, in Stripe's basil shapes."""

from __future__ import annotations

from typing import Any

from billing.api.render.parts import (
    _pricing,
    _quantity,
    ts,
)
from billing.api.render.taxes import tax_rate_objects
from billing.documents.links import hosted_invoice_url, invoice_pdf_url
from billing.taxes.invoices import amounts_excluding_tax

LINES_SHOWN = 10


def _line_parent(line) -> dict[str, Any]:
    if line.subscription_item_id:
        return {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": line.invoice_item_id,
                "proration": line.proration,
                "proration_details": {"credited_items": None},
                "subscription": line.subscription_id,
                "subscription_item": line.subscription_item_id,
            },
        }
    return {
        "type": "invoice_item_details",
        "invoice_item_details": {
            "invoice_item": line.invoice_item_id,
            "proration": line.proration,
            "proration_details": {"credited_items": None},
            "subscription": line.subscription_id,
        },
        "subscription_item_details": None,
    }


def _line_discounts(line, invoice_level: list[str] | None) -> list[str]:
    """The line's own discounts (its invoice item's), not the invoice's; without
    the invoice's list, those of an invoice item's line."""
    if invoice_level is None:
        invoice_level = (
            []
            if line.invoice_item_id
            else [entry["discount"] for entry in line.discount_amounts]
        )
    return [
        entry["discount"]
        for entry in line.discount_amounts
        if entry["discount"] not in invoice_level
    ]


def line_item(
    line, *, invoice_id: str | None = None, invoice_level: list[str] | None = None
) -> dict[str, Any]:
    quantity, quantity_decimal = _quantity(line.quantity)
    return {
        "id": line.pk,
        "object": "line_item",
        "amount": line.amount,
        "currency": line.currency,
        "description": line.description,
        "discount_amounts": list(line.discount_amounts),
        "discountable": line.discountable,
        "discounts": _line_discounts(line, invoice_level),
        "invoice": invoice_id or line.invoice_id,
        "livemode": line.livemode,
        "metadata": dict(line.metadata),
        "parent": _line_parent(line),
        "period": {"end": ts(line.period_end), "start": ts(line.period_start)},
        "pretax_credit_amounts": list(line.pretax_credit_amounts),
        "pricing": _pricing(line.price, line.unit_amount_decimal),
        "quantity": quantity,
        "quantity_decimal": quantity_decimal,
        "subscription": line.subscription_id,
        "subtotal": line.amount,
        "taxes": list(line.taxes),
    }


def lines_of(invoice) -> list:
    lines = getattr(invoice, "_prefetched_lines", None)
    if lines is None:
        lines = list(invoice.lines.select_related("price").order_by("position"))
    return lines


def _parent(invoice) -> dict[str, Any] | None:
    if invoice.subscription_id is None:
        return None
    return {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {
            "metadata": dict(invoice.subscription.metadata),
            "subscription": invoice.subscription_id,
        },
    }


def invoice(inv, *, lines: list | None = None) -> dict[str, Any]:
    lines = lines_of(inv) if lines is None else lines
    shown = lines[:LINES_SHOWN]
    draft_auto = inv.status == "draft" and inv.auto_advance
    subtotal_excluding_tax, total_excluding_tax = amounts_excluding_tax(inv)
    return {
        "id": inv.pk,
        "object": "invoice",
        "account_country": None,
        "account_name": None,
        "account_tax_ids": None,
        "amount_due": inv.amount_due,
        "amount_overpaid": 0,
        "amount_paid": inv.amount_paid,
        "amount_remaining": inv.amount_remaining,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": inv.attempt_count,
        "attempted": inv.attempt_count > 0 or inv.status == "paid",
        "auto_advance": inv.auto_advance,
        "automatic_tax": {
            "enabled": False,
            "disabled_reason": None,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": ts(inv.finalize_at) if draft_auto else None,
        "billing_reason": inv.billing_reason,
        "collection_method": inv.collection_method,
        "confirmation_secret": None,
        "created": ts(inv.created),
        "currency": inv.currency,
        "custom_fields": None,
        "customer": inv.customer_id,
        "customer_address": inv.customer_address,
        "customer_email": inv.customer_email,
        "customer_name": inv.customer_name,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": inv.customer_tax_exempt or "none",
        "customer_tax_ids": list(inv.customer_tax_ids),
        "default_payment_method": inv.default_payment_method,
        "default_source": None,
        "default_tax_rates": tax_rate_objects(inv.default_tax_rates),
        "description": inv.description,
        "discounts": list(inv.discounts),
        "due_date": ts(inv.due_date),
        "effective_at": ts(inv.effective_at),
        "ending_balance": inv.ending_balance,
        "footer": inv.footer,
        "from_invoice": None,
        "hosted_invoice_url": hosted_invoice_url(inv),
        "invoice_pdf": invoice_pdf_url(inv),
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [
                line_item(line, invoice_id=inv.pk, invoice_level=inv.discounts)
                for line in shown
            ],
            "has_more": len(lines) > len(shown),
            "total_count": len(lines),
            "url": f"/v1/invoices/{inv.pk}/lines",
        },
        "livemode": inv.livemode,
        "metadata": dict(inv.metadata),
        "next_payment_attempt": ts(inv.next_payment_attempt),
        "number": inv.number,
        "on_behalf_of": None,
        "parent": _parent(inv),
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": ts(inv.period_end),
        "period_start": ts(inv.period_start),
        "post_payment_credit_notes_amount": inv.post_payment_credit_notes_amount,
        "pre_payment_credit_notes_amount": inv.pre_payment_credit_notes_amount,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": inv.starting_balance,
        "statement_descriptor": None,
        "status": inv.status,
        "status_transitions": {
            "finalized_at": ts(inv.finalized_at),
            "marked_uncollectible_at": ts(inv.marked_uncollectible_at),
            "paid_at": ts(inv.paid_at),
            "voided_at": ts(inv.voided_at),
        },
        "subtotal": inv.subtotal,
        "subtotal_excluding_tax": subtotal_excluding_tax,
        "test_clock": inv.test_clock_id,
        "threshold_reason": inv.threshold_reason,
        "total": inv.total,
        "total_discount_amounts": list(inv.total_discount_amounts),
        "total_excluding_tax": total_excluding_tax,
        "total_pretax_credit_amounts": list(inv.total_pretax_credit_amounts),
        "total_taxes": list(inv.total_taxes),
        "webhooks_delivered_at": ts(inv.webhooks_delivered_at),
    }


def invoice_item(item) -> dict[str, Any]:
    quantity, quantity_decimal = _quantity(item.quantity)
    parent = None
    if item.subscription_id:
        parent = {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": item.subscription_id,
                "subscription_item": item.subscription_item_id,
            },
        }
    return {
        "id": item.pk,
        "object": "invoiceitem",
        "amount": item.amount,
        "currency": item.currency,
        "customer": item.customer_id,
        "date": ts(item.date),
        "description": item.description,
        "discountable": item.discountable,
        "discounts": list(item.discounts),
        "invoice": item.invoice_id,
        "livemode": item.livemode,
        "metadata": dict(item.metadata),
        "net_amount": item.amount,
        "parent": parent,
        "period": {"end": ts(item.period_end), "start": ts(item.period_start)},
        "pricing": _pricing(item.price, item.unit_amount_decimal),
        "proration": item.proration,
        "proration_details": {"credited_items": None},
        "quantity": quantity,
        "quantity_decimal": quantity_decimal,
        "tax_rates": tax_rate_objects(item.tax_rates),
        "test_clock": item.test_clock_id,
    }

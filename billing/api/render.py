"""Stripe's basil shapes of subscriptions, invoices, lines and invoice items.

Plain functions from model instances to dicts: period close renders thousands of
these for events, so they avoid DRF's per-field machinery. The DRF serializers in
``billing.api.serializers`` declare the same shapes for the OpenAPI document and
call these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.models import Price
from core import resources
from core.api.fields import decimal_string

LINES_SHOWN = 10
_price_cache: dict[tuple, dict] = {}
_PRICE_CACHE_SIZE = 2000


def ts(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def price_object(price: Price) -> dict[str, Any]:
    """The full price object; cached on the fields of a price that can change."""
    key = (
        price.pk,
        price.active,
        price.nickname,
        price.lookup_key,
        price.tax_behavior,
        tuple(sorted(price.metadata.items())),
    )
    cached = _price_cache.get(key)
    if cached is None:
        if len(_price_cache) >= _PRICE_CACHE_SIZE:
            _price_cache.clear()
        cached = _price_cache[key] = resources.serialize(price)
    return dict(cached)


def plan_object(price: Price) -> dict[str, Any]:
    """The legacy ``plan`` view of a recurring price (same id)."""
    return {
        "id": price.pk,
        "object": "plan",
        "active": price.active,
        "amount": price.unit_amount,
        "amount_decimal": decimal_string(price.unit_amount_decimal),
        "billing_scheme": price.billing_scheme,
        "created": ts(price.created),
        "currency": price.currency,
        "interval": price.recurring_interval,
        "interval_count": price.recurring_interval_count,
        "livemode": price.livemode,
        "metadata": dict(price.metadata),
        "meter": price.recurring_meter_id,
        "nickname": price.nickname,
        "product": price.product_id,
        "tiers_mode": price.tiers_mode,
        "transform_usage": (
            {
                "divide_by": price.transform_quantity_divide_by,
                "round": price.transform_quantity_round,
            }
            if price.transform_quantity_divide_by
            else None
        ),
        "trial_period_days": price.recurring_trial_period_days,
        "usage_type": price.recurring_usage_type,
    }


# ---- subscriptions -------------------------------------------------------------


def subscription_item(item) -> dict[str, Any]:
    data = {
        "id": item.pk,
        "object": "subscription_item",
        "billing_thresholds": (
            {"usage_gte": item.usage_gte} if item.usage_gte is not None else None
        ),
        "created": ts(item.created),
        "current_period_end": ts(item.current_period_end),
        "current_period_start": ts(item.current_period_start),
        "discounts": [],
        "metadata": dict(item.metadata),
        "plan": plan_object(item.price),
        "price": price_object(item.price),
        "subscription": item.subscription_id,
        "tax_rates": [],
    }
    if not item.price.is_metered:
        data["quantity"] = item.quantity
    return data


def _items_of(subscription) -> list:
    items = getattr(subscription, "_loaded_items", None)
    if items is None:
        items = list(
            subscription.items.select_related("price").order_by(
                "position", "created", "id"
            )
        )
    return items


def subscription(sub) -> dict[str, Any]:
    items = _items_of(sub)
    thresholds = None
    if sub.threshold_amount_gte is not None:
        thresholds = {
            "amount_gte": sub.threshold_amount_gte,
            "reset_billing_cycle_anchor": bool(sub.threshold_reset_anchor),
        }
    details = sub.cancellation_details or {}
    return {
        "id": sub.pk,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "disabled_reason": None, "liability": None},
        "billing_cycle_anchor": ts(sub.billing_cycle_anchor),
        "billing_cycle_anchor_config": sub.billing_cycle_anchor_config,
        "billing_mode": {"type": "flexible", "flexible": None, "updated_at": None},
        "billing_thresholds": thresholds,
        "cancel_at": ts(sub.cancel_at),
        "cancel_at_period_end": sub.cancel_at_period_end,
        "canceled_at": ts(sub.canceled_at),
        "cancellation_details": {
            "comment": details.get("comment"),
            "feedback": details.get("feedback"),
            "reason": details.get("reason"),
        },
        "collection_method": sub.collection_method,
        "created": ts(sub.created),
        "currency": sub.currency,
        "customer": sub.customer_id,
        "days_until_due": sub.days_until_due,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": sub.description,
        "discounts": [],
        "ended_at": ts(sub.ended_at),
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [subscription_item(item) for item in items],
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={sub.pk}",
        },
        "latest_invoice": sub.latest_invoice_id,
        "livemode": sub.livemode,
        "metadata": dict(sub.metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": ts(sub.start_date),
        "status": sub.status,
        "test_clock": sub.test_clock_id,
        "transfer_data": None,
        "trial_end": ts(sub.trial_end),
        "trial_settings": {
            "end_behavior": {"missing_payment_method": "create_invoice"}
        },
        "trial_start": ts(sub.trial_start),
    }


# ---- invoices ------------------------------------------------------------------


def _pricing(price: Price | None, unit_amount_decimal) -> dict[str, Any]:
    return {
        "type": "price_details",
        "price_details": (
            {"price": price.pk, "product": price.product_id} if price else None
        ),
        "unit_amount_decimal": decimal_string(unit_amount_decimal),
    }


def _quantity(value) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    return int(value), decimal_string(value)


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


def line_item(line, *, invoice_id: str | None = None) -> dict[str, Any]:
    quantity, quantity_decimal = _quantity(line.quantity)
    return {
        "id": line.pk,
        "object": "line_item",
        "amount": line.amount,
        "currency": line.currency,
        "description": line.description,
        "discount_amounts": [],
        "discountable": line.discountable,
        "discounts": [],
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
        "taxes": [],
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
        "attempt_count": 0,
        "attempted": inv.status == "paid",
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
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": inv.description,
        "discounts": [],
        "due_date": ts(inv.due_date),
        "effective_at": ts(inv.effective_at),
        "ending_balance": inv.ending_balance,
        "footer": inv.footer,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [line_item(line, invoice_id=inv.pk) for line in shown],
            "has_more": len(lines) > len(shown),
            "total_count": len(lines),
            "url": f"/v1/invoices/{inv.pk}/lines",
        },
        "livemode": inv.livemode,
        "metadata": dict(inv.metadata),
        "next_payment_attempt": None,
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
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
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
        "subtotal_excluding_tax": inv.subtotal,
        "test_clock": inv.test_clock_id,
        "threshold_reason": inv.threshold_reason,
        "total": inv.total,
        "total_discount_amounts": [],
        "total_excluding_tax": inv.total,
        "total_pretax_credit_amounts": list(inv.total_pretax_credit_amounts),
        "total_taxes": [],
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
        "discounts": [],
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
        "tax_rates": [],
        "test_clock": item.test_clock_id,
    }

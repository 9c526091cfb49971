"""Subscriptions and their items, in Stripe's basil shapes."""

from __future__ import annotations

from typing import Any

from billing.api.render.parts import (
    plan_object,
    price_object,
    ts,
)
from billing.api.render.taxes import tax_rate_objects


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
        "tax_rates": tax_rate_objects(item.tax_rates),
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


def _rate_card_fields(sub) -> dict[str, Any]:
    """Tally extension, only on subscriptions that follow a rate card."""
    if not sub.rate_card_id:
        return {}
    return {
        "rate_card": sub.rate_card_id,
        "rate_card_version": sub.rate_card_version_id or "latest",
        "rate_card_current_version": sub.rate_card_current_version_id,
    }


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
        **_rate_card_fields(sub),
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
        "default_payment_method": sub.default_payment_method,
        "default_source": None,
        "default_tax_rates": tax_rate_objects(sub.default_tax_rates),
        "description": sub.description,
        "discounts": list(sub.discounts),
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

"""Billing thresholds: an invoice of the usage so far when a threshold is reached.

Evaluating thresholds (amount of the period so far, usage per item) belongs to the
alerts app, which calls ``subscription_invoice_threshold`` when one is reached.
The invoice bills each metered item's usage since its period start less what
earlier threshold invoices of the period billed, priced as price(total) −
price(already billed), so tiers do not restart. With
``reset_billing_cycle_anchor`` a new period starts at the threshold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from billing.compose.collect import UsageReader
from billing.compose.pipeline import usage_so_far_drafts
from billing.models import Invoice, Subscription
from billing.services.events import before, emit_updated
from billing.services.finalize import invoice_finalize
from billing.services.period_close import CLOSING_STATUSES, subscription_period_restart
from billing.services.persist import subscription_invoice_create
from billing.services.subscriptions import lock
from core.errors import InvalidState


def subscription_invoice_threshold(
    *,
    subscription: Subscription,
    now: datetime,
    reason: dict[str, Any],
    usage: UsageReader | None = None,
) -> Invoice | None:
    """Issue a ``subscription_threshold`` invoice of the usage so far, finalized.

    ``reason`` is Stripe's ``threshold_reason``: ``{"amount_gte": int | None,
    "item_reasons": [{"line_item_ids": [...], "usage_gte": int}]}``; line ids
    left empty are filled with the lines of the items named by
    ``subscription_item``. Returns None when there is no usage to bill.
    """
    usage = usage or UsageReader()
    with transaction.atomic():
        sub = lock(subscription)
        if sub.status not in CLOSING_STATUSES or sub.status == "trialing":
            raise InvalidState(
                f"Thresholds are not evaluated for {sub.status} subscriptions."
            )
        items = sub._loaded_items
        drafts = [
            draft
            for draft in usage_so_far_drafts(
                customer_id=sub.customer_id, items=items, end=now, usage=usage
            )
            if draft.quantity > 0
        ]
        if not drafts:
            return None
        was = before(sub)
        invoice = subscription_invoice_create(
            subscription=sub,
            billing_reason=Invoice.BillingReason.SUBSCRIPTION_THRESHOLD,
            period_start=sub.current_period_start,
            period_end=now,
            drafts=drafts,
            now=now,
            finalize_at=None,
        )
        invoice.threshold_reason = _reason(reason, invoice)
        invoice.save(update_fields=["threshold_reason"])
        sub.latest_invoice = invoice
        sub.save(update_fields=["latest_invoice"])
        invoice_finalize(invoice=invoice, now=now, usage=usage)
        if sub.threshold_reset_anchor:
            subscription_period_restart(
                subscription=sub,
                items=items,
                now=now,
                reason=Invoice.BillingReason.SUBSCRIPTION_UPDATE,
                usage=usage,
            )
        emit_updated("customer.subscription.updated", sub, was)
        return Invoice.objects.get(pk=invoice.pk)


def _reason(reason: dict[str, Any], invoice: Invoice) -> dict[str, Any]:
    by_item: dict[str, list[str]] = {}
    for line in invoice._prefetched_lines:
        by_item.setdefault(line.subscription_item_id, []).append(line.pk)
    items = []
    for entry in reason.get("item_reasons") or []:
        ids = entry.get("line_item_ids") or by_item.get(
            entry.get("subscription_item"), []
        )
        items.append({"line_item_ids": ids, "usage_gte": entry["usage_gte"]})
    return {"amount_gte": reason.get("amount_gte"), "item_reasons": items}

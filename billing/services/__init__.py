"""Writes of the billing app. Other code (API, dashboard, tasks, alerts) imports here.

Every invoice is composed by ``billing.compose`` (collect → rate → discount →
credits → tax → customer balance → totals), written by ``persist`` and frozen by
``finalize``; the services below decide when and for what.

- Subscriptions: ``subscription_create`` (with its first invoice),
  ``subscription_update`` (items, prorations, cancellation, thresholds, trial),
  ``subscription_cancel``; items: ``subscription_item_create / _update / _delete``.
- Period close: ``subscriptions_close_due`` (Beat and test clocks),
  ``subscription_close_next`` (one subscription, one step).
- Finalization: ``invoice_finalize``, ``invoices_finalize_due``.
- Invoices: ``invoice_create / _update / _delete / _line_update / _pay / _void /
  _mark_uncollectible / _send``; ``invoice_item_create / _update / _delete``.
- ``invoice_preview``; ``subscription_invoice_threshold`` (for the alerts app);
  ``subscriptions_settle_due`` (past due, incomplete expiry).
"""

from billing.services.changes import (
    subscription_item_create,
    subscription_item_delete,
    subscription_item_update,
    subscription_update,
)
from billing.services.finalize import invoice_finalize
from billing.services.finalize_due import invoices_finalize_due
from billing.services.invoice_items import (
    invoice_item_create,
    invoice_item_delete,
    invoice_item_update,
)
from billing.services.invoices import (
    invoice_create,
    invoice_create_with_items,
    invoice_delete,
    invoice_finalize_manual,
    invoice_line_update,
    invoice_mark_uncollectible,
    invoice_pay,
    invoice_send,
    invoice_update,
    invoice_void,
)
from billing.services.period_close import (
    subscription_close_next,
    subscriptions_close_due,
)
from billing.services.preview import invoice_preview
from billing.services.statuses import subscriptions_settle_due
from billing.services.subscriptions import subscription_cancel, subscription_create
from billing.services.thresholds import subscription_invoice_threshold

__all__ = [
    "invoice_create",
    "invoice_create_with_items",
    "invoice_delete",
    "invoice_finalize",
    "invoice_finalize_manual",
    "invoice_item_create",
    "invoice_item_delete",
    "invoice_item_update",
    "invoice_line_update",
    "invoice_mark_uncollectible",
    "invoice_pay",
    "invoice_preview",
    "invoice_send",
    "invoice_update",
    "invoice_void",
    "invoices_finalize_due",
    "subscription_cancel",
    "subscription_close_next",
    "subscription_create",
    "subscription_invoice_threshold",
    "subscription_item_create",
    "subscription_item_delete",
    "subscription_item_update",
    "subscription_update",
    "subscriptions_close_due",
    "subscriptions_settle_due",
]

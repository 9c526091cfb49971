"""Invoice previews (``POST /v1/invoices/create_preview``).

A preview runs the very services that would make the invoice — subscription
creation, an update with its prorations, cancellation, the next period close —
inside a transaction that is always rolled back, and shows what they produced.
The plain upcoming invoice of an unchanged subscription takes the composition
pipeline (``billing.compose``) without writing: collect, rate, then the steps
finalization takes (discount, commitment, credits, tax, balance, totals).
Nothing is kept, no event or email leaves, and the preview can never disagree
with the real invoice. Usage is the usage so far; credits are applied by the same
finalization step as on a real invoice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from billing.api import render
from billing.compose.balance import apply_balance
from billing.compose.collect import UsageReader, cycles_collect
from billing.compose.discount_rows import InvoiceDiscounts
from billing.compose.pipeline import compose
from billing.compose.rate import cycle_drafts
from billing.compose.rows import items_with_prices
from billing.compose.tax import tax
from billing.compose.totals import totals
from billing.models import Invoice, Subscription
from billing.services import changes, credits
from billing.services.commitment_step import invoice_commitment_step
from billing.services.cycle import ends_at_period_end
from billing.services.discount_step import invoice_discount_step
from billing.services.discounts import subscription_discounts_set
from billing.services.invoice_items import invoice_item_create
from billing.services.period_close import CLOSING_STATUSES, subscription_close_next
from billing.services.persist import (
    invoice_draft_of,
    invoice_totals_set,
    line_from_draft,
)
from billing.services.rerate import invoice_lines
from billing.services.subscriptions import (
    lock,
    subscription_cancel,
    subscription_create,
)
from billing.taxes.customer_tax_ids import customer_details_apply, tax_ids_by_customer
from billing.taxes.invoices import taxes_record
from core.errors import InvalidRequest, ResourceMissing
from core.ids import new_id
from core.models import Customer
from credits.selectors import grant_candidates_exist_sql


class _Discard(Exception):
    """Raised to roll the preview's transaction back."""


_UPDATE_KEYS = (
    "items",
    "proration_behavior",
    "proration_date",
    "cancel_at",
    "cancel_at_period_end",
    "billing_cycle_anchor",
    "trial_end",
    "metadata",
    "default_tax_rates",
)
_CREATE_KEYS = (
    "items",
    "discounts",
    "proration_behavior",
    "cancel_at",
    "cancel_at_period_end",
    "billing_cycle_anchor",
    "trial_end",
    "metadata",
    "default_tax_rates",
)


def _no_upcoming(customer: Customer | None) -> ResourceMissing:
    who = f" for customer: {customer.pk}" if customer else ""
    return ResourceMissing(
        f"No upcoming invoices{who}.", code="invoice_upcoming_none", param=None
    )


# Raw EXISTS: a preview's one subscription query answers them without the ORM's
# compile cost (about half a millisecond each). Every discount row names its
# customer, whichever level it applies at, so "none live" means none applies.
_CUSTOMER = '"billing_subscription"."customer_id"'
_HAS_PENDING = RawSQL(
    "EXISTS (SELECT 1 FROM billing_invoiceitem i WHERE i.customer_id ="
    f" {_CUSTOMER} AND i.invoice_id IS NULL)",
    (),
    output_field=BooleanField(),
)
_HAS_DISCOUNTS = RawSQL(
    "EXISTS (SELECT 1 FROM billing_discount d WHERE d.customer_id ="
    f" {_CUSTOMER} AND d.removed_at IS NULL)",
    (),
    output_field=BooleanField(),
)
_HAS_TAX_IDS = RawSQL(
    f"EXISTS (SELECT 1 FROM billing_taxid t WHERE t.customer_id = {_CUSTOMER})",
    (),
    output_field=BooleanField(),
)


def _next_subscription(customer: Customer, now: datetime) -> Subscription:
    """The customer's subscription renewing first.

    It says, in the same query, whether the customer has pending invoice items
    (``has_pending``), credit grants that may apply (``has_grants``), live
    discounts (``has_discounts``) and tax ids (``has_tax_ids``): most have none
    of them, and a preview then needs no read for them.
    """
    sub = (
        Subscription.objects.filter(customer=customer, status__in=CLOSING_STATUSES)
        .annotate(
            has_pending=_HAS_PENDING,
            has_grants=grant_candidates_exist_sql(customer_column=_CUSTOMER, now=now),
            has_discounts=_HAS_DISCOUNTS,
            has_tax_ids=_HAS_TAX_IDS,
        )
        .order_by("current_period_end", "id")
        .first()
    )
    if sub is None:
        raise _no_upcoming(customer)
    sub.customer = customer
    return sub


def _next_cycle(sub: Subscription) -> Invoice | None:
    """Run the subscription's next step at its period end (or ``cancel_at``)."""
    sub.refresh_from_db()
    if sub.status not in CLOSING_STATUSES:
        return None
    moment = sub.current_period_end
    if sub.cancel_at is not None:
        moment = min(moment, sub.cancel_at)
    latest = sub.latest_invoice_id
    subscription_close_next(subscription_id=sub.pk, now=moment)
    sub.refresh_from_db()
    if sub.latest_invoice_id == latest:
        return None
    return sub.latest_invoice


def _upcoming_cycle(sub: Subscription, now: datetime):
    """The next cycle invoice of an unchanged subscription, built without writes.

    Returns (invoice, lines), both unsaved; None when nothing would be billed.
    """
    if sub.status not in CLOSING_STATUSES:
        return None
    sub._loaded_items = list(items_with_prices(sub))
    pending = None  # unknown for a subscription given by id: read
    if hasattr(sub, "has_pending"):
        pending = {sub.customer_id} if sub.has_pending else set()
    inputs = cycles_collect([sub], UsageReader(), pending=pending, lock=False)
    drafts, _ = cycle_drafts(inputs[sub.pk], ending=ends_at_period_end(sub))
    if not drafts:
        return None
    customer = sub.customer
    invoice = Invoice(
        id=new_id("upcoming_in"),
        customer=customer,
        subscription=sub,
        test_clock_id=sub.test_clock_id,
        billing_reason="upcoming",
        collection_method=sub.collection_method,
        currency=sub.currency,
        auto_advance=True,
        period_start=sub.current_period_start,
        period_end=sub.current_period_end,
        created=now,
        livemode=sub.livemode,
        customer_name=customer.name,
        customer_email=customer.email,
        customer_address=customer.address,
        default_tax_rates=list(sub.default_tax_rates),
        customer_tax_exempt=customer.tax_exempt,
    )
    if not getattr(sub, "has_discounts", True):
        invoice._discounts = InvoiceDiscounts()
    if not getattr(sub, "has_tax_ids", True):
        invoice._tax_ids = []
    lines = [
        line_from_draft(invoice=invoice, position=position, draft=draft, now=now)
        for position, draft in enumerate(drafts)
    ]
    return invoice, lines


def _existing(sub: Subscription, details: dict[str, Any], now: datetime):
    if details.get("cancel_now"):
        behavior = details.get("proration_behavior", "create_prorations")
        sub = subscription_cancel(
            subscription=sub,
            invoice_now=True,
            prorate=behavior != "none",
            now=now,
        )
        return sub.latest_invoice if sub.latest_invoice_id else None
    update = {key: details[key] for key in _UPDATE_KEYS if key in details}
    if update:
        latest = sub.latest_invoice_id
        sub = changes.subscription_update(subscription=sub, params=update, now=now)
        if sub.latest_invoice_id != latest:
            return sub.latest_invoice
    return _next_cycle(sub)


_KEEP = object()  # the preview keeps the subscription's discounts


def _with_discounts(sub: Subscription, discounts, now: datetime) -> Subscription:
    """The subscription with the preview's ``discounts`` in place of its own."""
    if discounts is not _KEEP:
        sub = lock(sub)
        subscription_discounts_set(subscription=sub, entries=discounts, now=now)
    return sub


def _build(
    *,
    customer: Customer | None,
    subscription: Subscription | None,
    details: dict[str, Any],
    invoice_items: list[dict[str, Any]],
    now: datetime,
    discounts=_KEEP,
) -> Invoice | None:
    for index, entry in enumerate(invoice_items):
        try:
            invoice_item_create(customer=customer, params=entry, now=now)
        except InvalidRequest as error:
            error.param = f"invoice_items[{index}][{error.param}]"
            raise
    if subscription is not None:
        return _existing(_with_discounts(subscription, discounts, now), details, now)
    if details.get("items"):
        if discounts is not _KEEP:
            details = {**details, "discounts": discounts}
        params = {key: details[key] for key in _CREATE_KEYS if key in details}
        if details.get("start_date"):
            params["backdate_start_date"] = details["start_date"]
        sub = subscription_create(customer=customer, params=params, now=now)
        return sub.latest_invoice
    sub = _with_discounts(_next_subscription(customer, now), discounts, now)
    return _existing(sub, details, now)


def invoice_preview(
    *,
    customer: Customer | None,
    subscription: Subscription | None,
    details: dict[str, Any] | None = None,
    invoice_items: list[dict[str, Any]] | None = None,
    customer_details: dict[str, Any] | None = None,
    now: datetime,
    discounts=_KEEP,
) -> dict[str, Any]:
    """Return the invoice (API shape) the customer or subscription would get next.

    ``customer_details`` (address, tax status, tax ids) stand for the customer's
    own in this preview only. ``discounts`` (Stripe's ``discounts`` entries)
    replace the subscription's for the preview only; left out, its own (or its
    customer's) apply.
    """
    if customer is None and subscription is None:
        raise InvalidRequest(
            "Pass customer or subscription.", param="customer", code="parameter_missing"
        )
    customer = customer or subscription.customer
    details = details or {}
    if (
        not details
        and not invoice_items
        and not customer_details
        and discounts is _KEEP
    ):
        sub = subscription or _next_subscription(customer, now)
        if sub.cancel_at is None or sub.cancel_at >= sub.current_period_end:
            built = _upcoming_cycle(sub, now)
            if built is None:
                raise _no_upcoming(customer)
            return _shown(*built, now=now, has_grants=getattr(sub, "has_grants", True))
    shown: dict[str, Any] | None = None
    try:
        with transaction.atomic():
            if customer_details:
                customer_details_apply(customer=customer, details=customer_details)
            invoice = _build(
                customer=customer,
                subscription=subscription,
                details=details,
                invoice_items=invoice_items or [],
                now=now,
                discounts=discounts,
            )
            if invoice is not None:
                invoice.refresh_from_db()
                shown = _shown(invoice, invoice_lines(invoice), now=now)
            raise _Discard
    except _Discard:
        pass
    if shown is None:
        raise _no_upcoming(customer)
    return shown


def _shown(
    invoice: Invoice, lines: list, *, now: datetime, has_grants: bool = True
) -> dict[str, Any]:
    """Take the draft through the pipeline's steps as finalization would, render it."""
    if invoice.is_draft or invoice.billing_reason == "upcoming":
        draft = invoice_discount_step(
            invoice=invoice,
            lines=lines,
            draft=invoice_draft_of(invoice, lines, now=now),
        )
        draft = invoice_commitment_step(
            invoice=invoice, lines=lines, draft=draft, now=now, persist=False
        )
        draft = credits.invoice_credits_step(
            invoice=invoice,
            lines=lines,
            draft=draft,
            preview=True,
            has_grants=has_grants,
        )
        draft = compose(draft, steps=(tax, apply_balance, totals))
        invoice_totals_set(invoice, draft)
        tax_ids = getattr(invoice, "_tax_ids", None)
        if tax_ids is None:
            tax_ids = tax_ids_by_customer([invoice.customer_id])[invoice.customer_id]
        taxes_record(invoice, lines, draft, tax_ids)
    data = render.invoice(invoice, lines=lines)
    preview_id = invoice.pk if invoice.pk.startswith("upcoming_in") else None
    data.update(
        id=preview_id or new_id("upcoming_in"),
        billing_reason="upcoming",
        status="draft",
        number=None,
        amount_paid=0,
        amount_remaining=data["amount_due"],
        attempted=False,
        automatically_finalizes_at=None,
        effective_at=None,
        ending_balance=None,
        created=int(now.timestamp()),
        webhooks_delivered_at=None,
        status_transitions=dict.fromkeys(
            ("finalized_at", "marked_uncollectible_at", "paid_at", "voided_at")
        ),
    )
    for line in data["lines"]["data"]:
        line["id"] = new_id("il_tmp")
        line["invoice"] = data["id"]
    data["lines"]["url"] = "/v1/invoices/upcoming/lines"
    return data

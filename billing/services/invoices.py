"""One-off invoices and the invoice state machine.

draft → (finalize) → open → paid | uncollectible | void; uncollectible → paid |
void. Drafts are fully editable; a finalized invoice keeps its amounts and lines
for good (the database refuses changes, see migration 0002), only its status,
metadata, description and footer move on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from billing import collection
from billing.compose.rate import invoice_item_draft
from billing.compose.rows import grace_period
from billing.documents.links import hosted_invoice_url
from billing.models import Invoice, InvoiceItem, InvoiceLineItem, Subscription
from billing.services import credits
from billing.services.discounts import invoice_discounts_set
from billing.services.events import before, emit, emit_updated
from billing.services.finalize import invoice_finalize
from billing.services.invoice_items import (
    invoice_item_create,
    invoice_recount,
    not_editable,
)
from billing.services.persist import lines_create
from billing.services.rerate import invoice_lines
from billing.services.settlement import invoice_check_payable, invoice_payment_apply
from billing.taxes.rates import tax_rates_resolve
from core import clock
from core.errors import InvalidRequest, InvalidState
from core.metadata import metadata_merge
from core.models import Customer
from core.notifications import send_email_on_commit
from core.services.balance import invoice_balance_unapply
from core.services.events import event_record

# Fields a finalized invoice still accepts (no money, no collection terms).
_FREE_FIELDS = ("metadata", "description", "footer", "auto_advance")
_DRAFT_FIELDS = ("collection_method", "days_until_due", "due_date", "default_tax_rates")


def _lock(invoice: Invoice) -> Invoice:
    """Lock the invoice, after its subscription (the locking order)."""
    if invoice.subscription_id is not None:
        Subscription.objects.select_for_update().filter(
            pk=invoice.subscription_id
        ).first()
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _check_terms(invoice: Invoice) -> None:
    if invoice.collection_method == Invoice.CollectionMethod.SEND_INVOICE:
        return
    if invoice.days_until_due is not None or invoice.due_date is not None:
        raise InvalidRequest(
            "days_until_due and due_date apply only with "
            "collection_method=send_invoice.",
            param="days_until_due",
        )


@transaction.atomic
def invoice_create(
    *, customer: Customer, params: dict[str, Any], now: datetime
) -> Invoice:
    """Create a draft one-off invoice; ``include`` takes the pending items."""
    if customer.deleted:
        raise InvalidRequest("The customer has been deleted.", param="customer")
    subscription = None
    if params.get("subscription"):
        subscription = Subscription.objects.filter(
            pk=params["subscription"], customer=customer
        ).first()
        if subscription is None:
            raise InvalidRequest(
                f"No such subscription: '{params['subscription']}' for this customer.",
                param="subscription",
                code="resource_missing",
            )
    include = params.get("pending_invoice_items_behavior") == "include"
    pending = InvoiceItem.objects.none()
    if include:
        pending = InvoiceItem.objects.select_for_update(of=("self",)).filter(
            customer=customer, invoice__isnull=True
        )
        if subscription is not None:
            pending = pending.filter(subscription=subscription)
    pending = list(pending.select_related("price").order_by("-created", "-id"))
    currency = params.get("currency") or (
        pending[0].currency if pending else customer.currency or "usd"
    )
    pending = [item for item in pending if item.currency == currency]
    auto_advance = params.get("auto_advance", False)
    invoice = Invoice(
        customer=customer,
        subscription=subscription,
        test_clock_id=customer.test_clock_id,
        billing_reason=Invoice.BillingReason.MANUAL,
        collection_method=params.get("collection_method", "charge_automatically"),
        days_until_due=params.get("days_until_due"),
        due_date=params.get("due_date"),
        currency=currency,
        auto_advance=auto_advance,
        description=params.get("description"),
        footer=params.get("footer"),
        metadata=params.get("metadata") or {},
        period_start=now,
        period_end=now,
        finalize_at=now + grace_period(),
        created=now,
        webhooks_delivered_at=now,
        livemode=customer.livemode,
        customer_name=customer.name,
        customer_email=customer.email,
        customer_address=customer.address,
        default_tax_rates=tax_rates_resolve(
            params.get("default_tax_rates"), param="default_tax_rates"
        ),
        customer_tax_exempt=customer.tax_exempt,
    )
    _check_terms(invoice)
    invoice.save(force_insert=True)
    invoice._last_position = -1
    if pending:
        lines_create(
            invoice=invoice,
            drafts=[invoice_item_draft(item) for item in pending],
            now=now,
        )
        InvoiceItem.objects.filter(pk__in=[item.pk for item in pending]).update(
            invoice=invoice
        )
        invoice_recount(invoice)
    if params.get("discounts"):
        invoice_discounts_set(invoice=invoice, entries=params["discounts"], now=now)
    emit("invoice.created", invoice)
    return invoice


@transaction.atomic
def invoice_create_with_items(
    *,
    customer: Customer,
    params: dict[str, Any],
    items: list[dict[str, Any]],
    now: datetime,
) -> Invoice:
    """Create a draft with its line items at once (the dashboard's Create invoice)."""
    invoice = invoice_create(customer=customer, params=params, now=now)
    for entry in items:
        invoice_item_create(
            customer=customer, params={**entry, "invoice": invoice.pk}, now=now
        )
    invoice.refresh_from_db()
    return invoice


@transaction.atomic
def invoice_update(*, invoice: Invoice, params: dict[str, Any]) -> Invoice:
    """Edit a draft; after finalization only metadata, description, footer."""
    invoice = _lock(invoice)
    if not invoice.is_draft and set(params) & set(_DRAFT_FIELDS):
        raise not_editable(invoice)
    was = before(invoice)
    for field in ("description", "footer", "auto_advance", *_DRAFT_FIELDS[:3]):
        if field in params:
            setattr(invoice, field, params[field])
    if "default_tax_rates" in params:
        invoice.default_tax_rates = tax_rates_resolve(
            params["default_tax_rates"],
            param="default_tax_rates",
            keep=invoice.default_tax_rates,
        )
    if "metadata" in params:
        invoice.metadata = metadata_merge(invoice.metadata, params["metadata"])
    if invoice.is_draft:
        _check_terms(invoice)
    invoice.save()
    if "discounts" in params:
        invoice_discounts_set(
            invoice=invoice,
            entries=params["discounts"],
            now=clock.now_for_customer(invoice.customer),
        )
    emit_updated("invoice.updated", invoice, was)
    return invoice


@transaction.atomic
def invoice_delete(*, invoice: Invoice) -> None:
    """Delete a draft one-off invoice and the items put on it."""
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise InvalidState(
            "You can only delete draft invoices; void a finalized one instead.",
            code="invoice_not_editable",
        )
    if invoice.subscription_id and invoice.billing_reason != "manual":
        raise InvalidState(
            "Invoices made by a subscription cannot be deleted.",
            code="invoice_not_editable",
        )
    data = before(invoice)
    for item in InvoiceItem.objects.filter(invoice=invoice):
        item_data = before(item)
        event_record(type="invoiceitem.deleted", data_object={**item_data})
    InvoiceLineItem.objects.filter(invoice=invoice).delete()
    InvoiceItem.objects.filter(invoice=invoice).delete()
    invoice.delete()
    event_record(type="invoice.deleted", data_object=data)


@transaction.atomic
def invoice_line_update(
    *, invoice: Invoice, line: InvoiceLineItem, params: dict[str, Any]
) -> InvoiceLineItem:
    """Edit a draft's line: description, metadata, discountable, period, tax rates."""
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise not_editable(invoice)
    line = InvoiceLineItem.objects.get(pk=line.pk, invoice=invoice)
    for field in ("description", "discountable"):
        if field in params:
            setattr(line, field, params[field])
    if "metadata" in params:
        line.metadata = metadata_merge(line.metadata, params["metadata"])
    if "period" in params:
        line.period_start = params["period"]["start"]
        line.period_end = params["period"]["end"]
    if "tax_rates" in params:
        line.tax_rates = tax_rates_resolve(
            params["tax_rates"], param="tax_rates", keep=line.tax_rates
        )
    line.save()
    if line.invoice_item_id:
        InvoiceItem.objects.filter(pk=line.invoice_item_id).update(
            description=line.description,
            discountable=line.discountable,
            period_start=line.period_start,
            period_end=line.period_end,
            tax_rates=line.tax_rates,
        )
    invoice_recount(invoice)
    return line


def invoice_finalize_manual(
    *, invoice: Invoice, now: datetime, auto_advance: bool | None = None
) -> Invoice:
    """``POST /v1/invoices/{id}/finalize``."""
    with transaction.atomic():
        invoice = _lock(invoice)
        if auto_advance is not None and invoice.is_draft:
            Invoice.objects.filter(pk=invoice.pk).update(auto_advance=auto_advance)
        if invoice.is_draft and not invoice_lines(invoice):
            if invoice.subscription_id is None:
                raise InvalidRequest(
                    "This invoice has no line items; add some before finalizing.",
                    code="invoice_no_customer_line_items",
                )
        return invoice_finalize(invoice=invoice, now=now)


def invoice_pay(
    *,
    invoice: Invoice,
    paid_out_of_band: bool,
    now: datetime,
    payment_method: str | None = None,
    off_session: bool | None = None,
) -> Invoice:
    """``POST /v1/invoices/{id}/pay``: record a payment made outside Tally, or
    charge the invoice through the collector the payments app registers."""
    if not paid_out_of_band:
        return collection.invoice_collect(
            invoice=invoice,
            payment_method=payment_method,
            off_session=off_session,
            now=now,
        )
    with transaction.atomic():
        invoice = _lock(invoice)
        if invoice.is_draft:
            invoice = invoice_finalize(invoice=invoice, now=now)
            if invoice.status == Invoice.Status.PAID:
                return invoice  # nothing was due
        invoice_check_payable(invoice)
        return invoice_payment_apply(
            invoice=invoice, amount=invoice.amount_remaining, now=now, out_of_band=True
        )


def _transition(invoice: Invoice, status: str, allowed: tuple, verb: str):
    if invoice.status not in allowed:
        raise InvalidState(
            f"You can only {verb} an invoice that is {' or '.join(allowed)}; this "
            f"one is {invoice.status}.",
            code="invoice_not_editable" if invoice.is_draft else None,
        )
    invoice.status = status


@transaction.atomic
def invoice_void(*, invoice: Invoice, now: datetime) -> Invoice:
    """Void a finalized invoice (irreversible); credits and balance it used are
    given back."""
    invoice = _lock(invoice)
    _transition(invoice, Invoice.Status.VOID, ("open", "uncollectible"), "void")
    invoice.voided_at = now
    invoice.amount_remaining = 0
    invoice.auto_advance = False
    credits.invoice_credits_reinstate(invoice=invoice, now=now)
    invoice_balance_unapply(
        invoice_id=invoice.pk, customer_id=invoice.customer_id, now=now
    )
    invoice.save(
        update_fields=["status", "voided_at", "amount_remaining", "auto_advance"]
    )
    emit("invoice.voided", invoice)
    return invoice


@transaction.atomic
def invoice_mark_uncollectible(*, invoice: Invoice, now: datetime) -> Invoice:
    """Write an open invoice off as uncollectible (it may still be paid later)."""
    invoice = _lock(invoice)
    _transition(invoice, Invoice.Status.UNCOLLECTIBLE, ("open",), "mark uncollectible")
    invoice.marked_uncollectible_at = now
    invoice.auto_advance = False
    invoice.save(update_fields=["status", "marked_uncollectible_at", "auto_advance"])
    emit("invoice.marked_uncollectible", invoice)
    return invoice


@transaction.atomic
def invoice_send(*, invoice: Invoice, now: datetime) -> Invoice:
    """Email the finalized invoice to the customer; records ``invoice.sent``."""
    invoice = _lock(invoice)
    if invoice.is_draft:
        raise InvalidState(
            "Finalize the invoice before sending it.", code="invoice_not_editable"
        )
    if invoice.status == Invoice.Status.VOID:
        raise InvalidState("A void invoice cannot be sent.")
    if not invoice.customer_email:
        raise InvalidRequest(
            "The customer has no email address to send the invoice to.",
            param="customer",
            code="email_invalid",
        )
    send_email_on_commit(
        to=[invoice.customer_email],
        template="billing/email/invoice",
        context={
            "invoice": invoice,
            "lines": invoice_lines(invoice),
            "credits": sum(e["amount"] for e in invoice.total_pretax_credit_amounts),
            "hosted_url": hosted_invoice_url(invoice),
        },
    )
    emit("invoice.sent", invoice)
    return invoice

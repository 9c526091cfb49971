"""Dashboard pages of subscriptions and invoices, served inside the Django admin.

Each page parses a form, calls one service or selector, and renders; the admin
classes in ``billing.admin`` route here and check permissions.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse

from billing import commitment_pages, dashboard, selectors, services
from billing.compose.rows import spec_of
from billing.discount_pages import DiscountApplyForm, coupon_terms
from billing.documents.links import hosted_invoice_path, invoice_pdf_path
from billing.documents.rows import discount_labels
from billing.forms import CancelForm, InvoiceForm, SubscriptionForm, ThresholdForm
from billing.models import Invoice, InvoiceLineItem, Subscription
from billing.services.discounts import customer_discount, subscription_discounts
from billing.services.rerate import invoice_lines
from billing.taxes.display import invoice_tax_display
from billing.taxes.invoices import amounts_excluding_tax
from catalog.pricing import describe_line, price_amount
from core import clock
from core.admin_pages import admin_page
from core.errors import TallyError
from core.models import Customer
from core.money import currency_exponent


def subscription_url(subscription: Subscription) -> str:
    return reverse("admin:billing_subscription_change", args=[quote(subscription.pk)])


def invoice_url(invoice: Invoice) -> str:
    return reverse("admin:billing_invoice_change", args=[quote(invoice.pk)])


def customer_url(customer_id: str) -> str:
    return reverse("admin:core_customer_change", args=[quote(customer_id)])


def _clock_url(customer: Customer) -> str:
    if customer.test_clock_id is None:
        return ""
    try:
        return reverse("admin:core_testclock_advance", args=[customer.test_clock_id])
    except NoReverseMatch:
        return ""


def _initial_customer(request) -> dict:
    customer_id = request.GET.get("customer")
    if customer_id and Customer.objects.filter(pk=customer_id).exists():
        return {"customer": customer_id}
    return {}


# ---- subscriptions ----------------------------------------------------------------


def subscription_create(request, *, model_admin):
    """Create a subscription: customer, prices and quantities, trial, anchor."""
    data = request.POST if request.method == "POST" else None
    form = SubscriptionForm(data, initial=_initial_customer(request))
    if data is not None and form.is_valid():
        customer = form.cleaned_data["customer"]
        try:
            subscription = services.subscription_create(
                customer=customer,
                params=form.to_params(),
                now=clock.now_for_customer(customer),
            )
        except TallyError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Created the subscription {subscription.pk}.")
            return HttpResponseRedirect(subscription_url(subscription))
    return admin_page(
        request,
        model_admin,
        "billing/subscription_create.html",
        "Create subscription",
        form=form,
    )


def subscription_detail(request, subscription_id: str, *, model_admin):
    """The subscription: items, current period, usage so far, upcoming invoice."""
    subscription = get_object_or_404(
        Subscription.objects.select_related("customer__test_clock"),
        pk=subscription_id,
    )
    now = clock.now_for_customer(subscription.customer)
    usage = selectors.subscription_usage_so_far(subscription=subscription, now=now)
    upcoming, upcoming_error = None, ""
    if subscription.is_billing:
        try:
            upcoming = services.invoice_preview(
                customer=None, subscription=subscription, now=now
            )
        except TallyError as error:
            upcoming_error = error.message
    return admin_page(
        request,
        model_admin,
        "billing/subscription_detail.html",
        f"Subscription {subscription.pk}",
        subscription=subscription,
        customer=subscription.customer,
        customer_url=customer_url(subscription.customer_id),
        items=subscription.items.select_related("price__product").order_by(
            "position", "created"
        ),
        usage=usage,
        upcoming=upcoming,
        upcoming_credits=sum(
            entry["amount"]
            for entry in (upcoming or {}).get("total_pretax_credit_amounts", [])
        ),
        upcoming_tax=sum(
            entry["amount"]
            for entry in (upcoming or {}).get("total_taxes", [])
            if entry["tax_behavior"] == "exclusive"
        ),
        upcoming_discounts=discount_rows(
            (upcoming or {}).get("total_discount_amounts", [])
        ),
        discounts=[
            (row, coupon_terms(row.coupon))
            for row in subscription_discounts(subscription)
        ],
        customer_discount=customer_discount(subscription.customer),
        discount_form=DiscountApplyForm(),
        upcoming_error=upcoming_error,
        invoices=subscription.invoices.order_by("-created", "-id")[:20],
        clock_url=_clock_url(subscription.customer),
        now=now,
        cancel_form=CancelForm(),
        threshold_form=_threshold_form(subscription),
        threshold_progress=dashboard.threshold_progress(
            subscription=subscription, now=now
        ),
        **commitment_pages.subscription_context(subscription, now),
    )


def _threshold_form(subscription: Subscription) -> ThresholdForm:
    amount = subscription.threshold_amount_gte
    return ThresholdForm(
        initial={
            "amount_gte": (
                Decimal(amount).scaleb(-currency_exponent(subscription.currency))
                if amount is not None
                else None
            ),
            "reset_billing_cycle_anchor": bool(subscription.threshold_reset_anchor),
        }
    )


def subscription_thresholds(request, subscription_id: str, *, model_admin):
    """Set, change or remove the billing threshold (``billing_thresholds``)."""
    subscription = get_object_or_404(
        Subscription.objects.select_related("customer__test_clock"),
        pk=subscription_id,
    )
    form = ThresholdForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.get("amount_gte") or "Check the amount.")
        services.subscription_update(
            subscription=subscription,
            params=form.to_params(subscription.currency),
            now=clock.now_for_customer(subscription.customer),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Saved the billing threshold.")
    return HttpResponseRedirect(subscription_url(subscription))


def subscription_cancel(request, subscription_id: str, *, model_admin):
    """Cancel now (optionally invoicing usage), at period end, or undo that."""
    subscription = get_object_or_404(
        Subscription.objects.select_related("customer__test_clock"),
        pk=subscription_id,
    )
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how to cancel.")
        return HttpResponseRedirect(subscription_url(subscription))
    now = clock.now_for_customer(subscription.customer)
    when = form.cleaned_data["when"]
    try:
        if when == "now":
            services.subscription_cancel(
                subscription=subscription,
                invoice_now=form.cleaned_data["invoice_now"],
                prorate=form.cleaned_data["prorate"],
                now=now,
            )
        else:
            services.subscription_update(
                subscription=subscription,
                params={
                    "cancel_at_period_end": when == "period_end",
                    **({"cancel_at": None} if when == "keep" else {}),
                },
                now=now,
            )
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            {
                "now": "Canceled the subscription.",
                "period_end": "The subscription ends at the end of its period.",
                "keep": "The subscription continues.",
            }[when],
        )
    return HttpResponseRedirect(subscription_url(subscription))


# ---- invoices ----------------------------------------------------------------------


def invoice_create(request, *, model_admin):
    """Create invoice: customer, currency, line items; then finalize and send."""
    data = request.POST if request.method == "POST" else None
    form = InvoiceForm(data, initial=_initial_customer(request))
    if data is not None and form.is_valid():
        customer = form.cleaned_data["customer"]
        try:
            invoice = services.invoice_create_with_items(
                customer=customer,
                params=form.invoice_params(),
                items=form.item_params(),
                now=clock.now_for_customer(customer),
            )
        except TallyError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Created a draft invoice.")
            return HttpResponseRedirect(invoice_url(invoice))
    return admin_page(
        request, model_admin, "billing/invoice_create.html", "Create invoice", form=form
    )


def _line_rows(lines: list[InvoiceLineItem]) -> list[dict]:
    rows = []
    for line in lines:
        breakdown = []
        if line.kind in ("metered", "late_usage") and line.price_id and line.quantity:
            spec = spec_of(line.price)
            breakdown = describe_line(price_amount(spec, line.quantity), spec)
        rows.append(
            {
                "line": line,
                "breakdown": breakdown,
                "credits": sum(entry["amount"] for entry in line.pretax_credit_amounts),
                "discounts": sum(entry["amount"] for entry in line.discount_amounts),
            }
        )
    return rows


def discount_rows(amounts: list[dict]) -> list[dict]:
    """Each discount of an invoice labelled as its documents print it."""
    labels = discount_labels(amounts)
    return [
        {
            "label": labels.get(entry["discount"], entry["discount"]),
            "amount": entry["amount"],
        }
        for entry in amounts
    ]


def invoice_detail(request, invoice_id: str, *, model_admin):
    """The invoice laid out like one: parties, dates, lines, totals, actions."""
    invoice = get_object_or_404(
        Invoice.objects.select_related("customer", "subscription"), pk=invoice_id
    )
    return admin_page(
        request,
        model_admin,
        "billing/invoice_detail.html",
        f"Invoice {invoice.number or invoice.pk}",
        **invoice_sheet_context(invoice),
        staff=True,
        customer_url=customer_url(invoice.customer_id),
        subscription_url=(
            subscription_url(invoice.subscription) if invoice.subscription_id else ""
        ),
    )


def invoice_sheet_context(invoice: Invoice) -> dict:
    """What ``billing/_invoice_sheet.html`` shows, for staff and customer pages."""
    lines = invoice_lines(invoice)
    taxes = invoice_tax_display(invoice, lines)
    rows = _line_rows(lines)
    for row, line_taxes in zip(rows, taxes["line_taxes"], strict=True):
        row["taxes"] = line_taxes
    return {
        "invoice": invoice,
        "hosted_url": hosted_invoice_path(invoice),
        "pdf_url": invoice_pdf_path(invoice),
        "customer": invoice.customer,
        "rows": rows,
        "tax_breakdown": taxes["tax_breakdown"],
        "total_excluding_tax": amounts_excluding_tax(invoice)[1],
        "credits": sum(e["amount"] for e in invoice.total_pretax_credit_amounts),
        # What the balance took off (negative) or added to the amount due.
        "balance_applied": invoice.starting_balance - (invoice.ending_balance or 0),
        "credit_notes": list(invoice.credit_notes.order_by("sequence")),
        "discount_rows": discount_rows(invoice.total_discount_amounts),
        "quantity_shown": any(
            line.quantity not in (None, Decimal(1)) for line in lines
        ),
    }


_ACTIONS = {
    "finalize": ("Finalized the invoice.", services.invoice_finalize_manual),
    "send": ("Sent the invoice to the customer.", services.invoice_send),
    "void": ("Voided the invoice.", services.invoice_void),
    "uncollectible": (
        "Marked the invoice uncollectible.",
        services.invoice_mark_uncollectible,
    ),
}


def invoice_action(request, invoice_id: str, action: str, *, model_admin):
    """Finalize, send, mark paid, void, mark uncollectible or delete (POST)."""
    invoice = get_object_or_404(
        Invoice.objects.select_related("customer__test_clock"), pk=invoice_id
    )
    now = clock.now_for_customer(invoice.customer)
    try:
        if action == "pay":
            services.invoice_pay(invoice=invoice, paid_out_of_band=True, now=now)
            message = "Marked the invoice paid (paid outside Tally)."
        elif action == "delete":
            services.invoice_delete(invoice=invoice)
            messages.success(request, "Deleted the draft invoice.")
            return HttpResponseRedirect(reverse("admin:billing_invoice_changelist"))
        elif action in _ACTIONS:
            message, service = _ACTIONS[action]
            service(invoice=invoice, now=now)
        else:
            raise Http404("Unknown invoice action")
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, message)
    return HttpResponseRedirect(invoice_url(invoice))

"""Billing on the customer's pages: subscriptions with usage so far and the upcoming
invoice, past invoices, and each invoice as a printable page.

Customers see finalized invoices only: drafts can still change and are staff's.
"""

from __future__ import annotations

import logging

from django.core.paginator import Paginator
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.http import require_safe

from billing.commitment_pages import PORTAL_SECTION
from billing.compose.rows import items_with_prices, spec_of
from billing.models import Invoice, Subscription
from billing.selectors import subscription_usage_so_far
from billing.services.preview import invoice_preview
from billing.views import invoice_sheet_context
from catalog.pricing import price_amount
from core.errors import TallyError
from core.portal import CustomerPage, PortalSection, customer_page

logger = logging.getLogger(__name__)

LIVE_STATUSES = ("trialing", "active", "past_due", "unpaid")
RECENT_INVOICES = 5
INVOICES_PER_PAGE = 25


def customer_invoices(customer_id: str):
    return (
        Invoice.objects.filter(customer_id=customer_id)
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("-finalized_at", "-created", "-id")
    )


def _upcoming(subscription: Subscription, page: CustomerPage) -> dict | None:
    """The next invoice as it stands now (credits included), or None."""
    try:
        return invoice_preview(customer=None, subscription=subscription, now=page.now)
    except TallyError:
        return None


def _licensed_amount(item) -> int:
    """What a fixed item charges each period (minor units)."""
    return price_amount(spec_of(item.price), item.quantity or 0).amount.minor_units


def _subscription_card(subscription: Subscription, page: CustomerPage) -> dict:
    items = list(items_with_prices(subscription))
    upcoming = _upcoming(subscription, page)
    return {
        "subscription": subscription,
        "licensed": [
            {"item": item, "amount": _licensed_amount(item)}
            for item in items
            if not item.price.is_metered
        ],
        "usage": subscription_usage_so_far(subscription=subscription, now=page.now),
        "upcoming": upcoming,
        "upcoming_credits": (
            sum(e["amount"] for e in upcoming["total_pretax_credit_amounts"] or [])
            if upcoming
            else 0
        ),
        "upcoming_discounts": (
            sum(e["amount"] for e in upcoming["total_discount_amounts"] or [])
            if upcoming
            else 0
        ),
    }


def subscriptions_section(page: CustomerPage) -> str:
    subscriptions = Subscription.objects.filter(
        customer=page.customer, status__in=LIVE_STATUSES
    ).order_by("-created", "-id")
    cards = [_subscription_card(sub, page) for sub in subscriptions]
    return render_to_string(
        "billing/portal/_subscriptions.html", {"cards": cards, "page": page}
    )


def invoices_section(page: CustomerPage) -> str:
    invoices = list(customer_invoices(page.customer.pk)[:RECENT_INVOICES])
    return render_to_string(
        "billing/portal/_invoices.html",
        {"invoices": invoices, "page": page, "more": len(invoices) == RECENT_INVOICES},
    )


@require_safe
@customer_page
def invoice_list(request, page: CustomerPage):
    paginator = Paginator(customer_invoices(page.customer.pk), INVOICES_PER_PAGE)
    listing = paginator.get_page(request.GET.get("page"))
    return page.render(
        "billing/portal/invoice_list.html", {"listing": listing, "nav": "invoices"}
    )


@require_safe
@customer_page
def invoice_page(request, page: CustomerPage, invoice_id: str):
    invoice = (
        customer_invoices(page.customer.pk)
        .select_related("customer", "subscription")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    context = invoice_sheet_context(invoice)
    context.pop("customer")
    return page.render(
        "billing/portal/invoice_page.html", {**context, "nav": "invoices"}
    )


SECTIONS = [
    PortalSection(
        name="subscriptions",
        title="Plan and usage this period",
        render=subscriptions_section,
        order=10,
    ),
    PortalSection(name="invoices", title="Invoices", render=invoices_section, order=40),
    PORTAL_SECTION,
]

urlpatterns = [
    path("invoices/", invoice_list, name="invoices"),
    path("invoices/<str:invoice_id>/", invoice_page, name="invoice"),
]

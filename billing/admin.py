"""Subscriptions and invoices in the dashboard; pages live in ``billing.views``."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.html import format_html, format_html_join

from billing import admin_coupons as admin_coupons  # registers coupon pages
from billing import admin_rate_cards as admin_rate_cards  # registers rate cards
from billing import commitment_pages, credit_note_pages, discount_pages, views
from billing.admin_actions import INVOICE_ACTIONS
from billing.admin_filters import PastDueFilter, ProductFilter
from billing.descriptions import format_period
from billing.models import CreditNote, Invoice, Subscription
from catalog.admin_filters import CurrencyFilter
from core.admin_filters import CustomerIdFilter, DateRangeFilter
from core.admin_pages import PagesAdmin
from core.admin_scale import ScaledListMixin
from core.money import format_minor


def _badge(status: str):
    return format_html(
        '<span class="tally-badge {}">{}</span>', status, status.replace("_", " ")
    )


class _BillingAdmin(ScaledListMixin, PagesAdmin):
    def has_delete_permission(self, request, obj=None) -> bool:
        # Subscriptions are canceled and invoices voided, never deleted (a draft
        # invoice is deleted by its own action, through the billing services).
        return False


@admin.register(Subscription)
class SubscriptionAdmin(_BillingAdmin):
    list_display = ("id", "customer", "status_badge", "pricing", "period", "created")
    list_filter = (
        CustomerIdFilter,
        ("created", DateRangeFilter),
        "status",
        "collection_method",
        "cancel_at_period_end",
    )
    # Ids exactly, customers by id, email or name (core.admin_scale).
    search_fields = ("id",)
    list_select_related = ("customer",)
    ordering = ("-created", "-id")
    change_list_template = "admin/billing/subscription/change_list.html"
    create_page = views.subscription_create
    detail_page = views.subscription_detail

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("items__price__product")

    @admin.display(description="Status", ordering="status")
    def status_badge(self, subscription: Subscription):
        return _badge(subscription.status)

    @admin.display(description="Items")
    def pricing(self, subscription: Subscription):
        return format_html_join(
            "",
            "<div>{}{}</div>",
            (
                (
                    item.price.product.name,
                    f" × {item.quantity}" if item.quantity is not None else " (usage)",
                )
                for item in subscription.items.all()
            ),
        )

    @admin.display(description="Current period", ordering="current_period_end")
    def period(self, subscription: Subscription) -> str:
        return format_period(
            subscription.current_period_start, subscription.current_period_end
        )

    def action_urls(self):
        return [
            ("cancel", "cancel", views.subscription_cancel),
            ("thresholds", "thresholds", views.subscription_thresholds),
            (
                "commitment",
                "commitment",
                commitment_pages.subscription_commitment_create,
            ),
            (
                "commitment_void",
                "commitment/void",
                commitment_pages.subscription_commitment_void,
            ),
            ("discount", "discount", discount_pages.subscription_discount_apply),
        ]


@admin.register(Invoice)
class InvoiceAdmin(_BillingAdmin):
    list_display = (
        "label",
        "customer",
        "status_badge",
        "amount",
        "due",
        "billing_reason",
        "created",
    )
    list_filter = (
        CustomerIdFilter,
        ("created", DateRangeFilter),
        ("finalized_at", DateRangeFilter),
        ("paid_at", DateRangeFilter),
        PastDueFilter,
        ProductFilter,
        "status",
        "billing_reason",
        "collection_method",
        CurrencyFilter,
    )
    # Ids and numbers exactly, customers by id, email or name (core.admin_scale).
    search_fields = ("id",)
    exact_search_fields = ("id", "number")
    list_select_related = ("customer",)
    ordering = ("-created", "-id")
    change_list_template = "admin/billing/invoice/change_list.html"
    actions = INVOICE_ACTIONS
    create_page = views.invoice_create
    detail_page = views.invoice_detail

    @admin.display(description="Invoice", ordering="number")
    def label(self, invoice: Invoice) -> str:
        return invoice.number or f"Draft {invoice.pk}"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, invoice: Invoice):
        return _badge(invoice.status)

    @admin.display(description="Total", ordering="total")
    def amount(self, invoice: Invoice):
        return format_html(
            '<span class="tally-money">{}</span>',
            format_minor(invoice.total, invoice.currency),
        )

    @admin.display(description="Amount due", ordering="amount_remaining")
    def due(self, invoice: Invoice):
        return format_html(
            '<span class="tally-money">{}</span>',
            format_minor(invoice.amount_remaining, invoice.currency),
        )

    def action_urls(self):
        return [("action", "action/<str:action>", views.invoice_action)]


# Tax rates and customers' tax ids (billing/tax_admin.py).
from billing import tax_admin  # noqa: E402, F401


@admin.register(CreditNote)
class CreditNoteAdmin(_BillingAdmin):
    list_display = ("number", "invoice", "customer", "status_badge", "kind", "total")
    list_filter = ("status", "type", "reason", CurrencyFilter)
    search_fields = ("id",)
    exact_search_fields = ("id", "number", "invoice_id")
    list_select_related = ("customer", "invoice")
    ordering = ("-created", "-id")
    create_page = credit_note_pages.credit_note_create
    detail_page = credit_note_pages.credit_note_detail

    def has_add_permission(self, request) -> bool:
        # Issued from an invoice's page ("Issue credit note"), which names it.
        return super().has_add_permission(request) and "invoice" in request.GET

    @admin.display(description="Status", ordering="status")
    def status_badge(self, note: CreditNote):
        return _badge(note.status)

    @admin.display(description="Type", ordering="type")
    def kind(self, note: CreditNote) -> str:
        return note.type.replace("_", " ")

    @admin.display(description="Total", ordering="total")
    def total(self, note: CreditNote):
        return format_html(
            '<span class="tally-money">{}</span>',
            format_minor(note.total, note.currency),
        )

    def action_urls(self):
        return [("action", "action/<str:action>", credit_note_pages.credit_note_action)]

    def get_urls(self):
        def preview(request):
            if not self.has_view_or_change_permission(request):
                raise PermissionDenied
            return credit_note_pages.credit_note_preview(request, model_admin=self)

        return [
            path(
                "preview/",
                self.admin_site.admin_view(preview),
                name="billing_creditnote_preview",
            ),
            *super().get_urls(),
        ]

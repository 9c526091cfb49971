"""Alerts and thresholds in the staff dashboard; the pages live in ``alerts.views``."""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import path, reverse
from django.utils.html import format_html

from alerts import access_pages, selectors, views
from alerts.models import Alert, ThresholdInvoice, UsageLimit
from core.admin_pages import PagesAdmin
from core.money import format_minor

_BADGE = {"active": "active", "inactive": "warn", "archived": "void"}


def status_badge(alert: Alert):
    return format_html(
        '<span class="tally-badge {}" data-status="{}">{}</span>',
        _BADGE.get(alert.status, "void"),
        alert.status,
        alert.get_status_display(),
    )


@admin.register(Alert)
class AlertAdmin(PagesAdmin):
    list_display = (
        "title",
        "meter",
        "applies_to",
        "threshold",
        "status_display",
        "triggered_count",
        "created",
    )
    list_filter = ("alert_type", "status", "meter")
    search_fields = ("id", "title", "customer__id", "customer__name", "meter__id")
    ordering = ("-created", "-id")
    create_page = views.alert_create
    detail_page = views.alert_detail

    def get_queryset(self, request):
        return selectors.alerts_with_counts()

    @admin.display(description="Applies to", ordering="customer__name")
    def applies_to(self, alert: Alert):
        return alert.customer or "All customers"

    @admin.display(description="Threshold", ordering="gte")
    def threshold(self, alert: Alert):
        return alert.threshold_display

    @admin.display(description="Status", ordering="status")
    def status_display(self, alert: Alert):
        return status_badge(alert)

    @admin.display(description="Triggered", ordering="triggered")
    def triggered_count(self, alert: Alert):
        return format_html(
            '<span data-triggered="{}">{}</span>', alert.pk, alert.triggered
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Alerts are archived, never deleted: their firings and events point at them.
        return False

    def action_urls(self):
        return [
            (action, action, getattr(views, f"alert_{action}"))
            for action in ("activate", "deactivate", "archive")
        ]


@admin.register(ThresholdInvoice)
class ThresholdInvoiceAdmin(admin.ModelAdmin):
    """Invoices issued by billing thresholds, read only."""

    list_display = (
        "invoice_link",
        "subscription",
        "customer",
        "sequence",
        "reason_display",
        "total",
        "created",
    )
    search_fields = (
        "subscription__id",
        "customer__id",
        "customer__name",
        "invoice__id",
    )
    list_select_related = ("invoice", "customer", "subscription")
    ordering = ("-created", "-id")

    @admin.display(description="Invoice")
    def invoice_link(self, row: ThresholdInvoice):
        url = reverse("admin:billing_invoice_change", args=[quote(row.invoice_id)])
        return format_html(
            '<a href="{}">{}</a>', url, row.invoice.number or row.invoice_id
        )

    @admin.display(description="Reached")
    def reason_display(self, row: ThresholdInvoice):
        return views.threshold_reason_text(row.reason, row.invoice.currency)

    @admin.display(description="Total")
    def total(self, row: ThresholdInvoice):
        return format_html(
            '<span class="tally-money">{}</span>',
            format_minor(row.invoice.total, row.invoice.currency),
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UsageLimit)
class UsageLimitAdmin(PagesAdmin):
    """Usage limits: list, create, the limit page (level, status, crossings)."""

    list_display = ("id", "applies_to", "feature", "level_display", "status", "created")
    list_filter = ("status", "limit_type")
    search_fields = ("id", "customer__id", "customer__name", "price__id")
    list_select_related = ("feature", "customer", "price")
    ordering = ("-created", "-id")
    create_page = access_pages.usage_limit_create
    detail_page = access_pages.usage_limit_detail
    detail_takes_post = True

    @admin.display(description="Applies to")
    def applies_to(self, limit: UsageLimit):
        return limit.customer or f"Subscribers of {limit.price_id}"

    @admin.display(description="Cuts access at")
    def level_display(self, limit: UsageLimit):
        if limit.limit_type == UsageLimit.LimitType.USAGE:
            return f"{limit.gte:,} units"
        return format_minor(limit.amount_gte, limit.currency)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deactivated, never deleted: crossings record what it did.
        return False

    def action_urls(self):
        return [
            (action, action, getattr(access_pages, f"usage_limit_{action}"))
            for action in ("activate", "deactivate")
        ]

    def get_urls(self):
        access = self.admin_site.admin_view(
            partial(access_pages.customer_access_json, model_admin=self)
        )
        return [
            path(
                "access/<path:customer_id>.json",
                access,
                name="alerts_usagelimit_access",
            ),
            *super().get_urls(),
        ]

"""Alerts and thresholds in the staff dashboard; the pages live in ``alerts.views``."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html

from alerts import selectors, views
from alerts.models import Alert, ThresholdInvoice
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
    list_filter = ("status", "meter")
    search_fields = ("id", "title", "customer__id", "customer__name", "meter__id")
    ordering = ("-created", "-id")
    create_page = views.alert_create
    detail_page = views.alert_detail

    def get_queryset(self, request):
        return selectors.alerts_with_counts()

    @admin.display(description="Applies to", ordering="customer__name")
    def applies_to(self, alert: Alert):
        return alert.customer or "All customers"

    @admin.display(description="Threshold (≥)", ordering="gte")
    def threshold(self, alert: Alert):
        return f"{alert.gte:,}"

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

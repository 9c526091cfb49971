"""Billing credits in the staff dashboard; the pages live in ``credits.views``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from catalog.admin_filters import CurrencyFilter
from core.admin_export import CsvExportMixin
from core.admin_filters import CustomerIdFilter, DateRangeFilter
from core.admin_pages import PagesAdmin
from core.admin_scale import ScaledListMixin
from core.money import format_minor
from credits import views
from credits.models import CreditBalanceTransaction, CreditGrant
from credits.selectors import ledger_running_balance


def status_badge(grant: CreditGrant):
    css = {"pending": "warn", "active": "active", "expired": "inactive"}
    return format_html(
        '<span class="tally-badge {}">{}</span>',
        css.get(grant.status, "void"),
        grant.get_status_display(),
    )


@admin.register(CreditGrant)
class CreditGrantAdmin(ScaledListMixin, PagesAdmin):
    list_display = (
        "__str__",
        "customer",
        "granted",
        "remaining",
        "status_display",
        "priority",
        "expires_at",
        "created",
    )
    list_filter = (
        CustomerIdFilter,
        ("created", DateRangeFilter),
        ("expires_at", DateRangeFilter),
        "status",
        "category",
        CurrencyFilter,
    )
    # Ids exactly, customers by id, email or name (core.admin_scale).
    search_fields = ("id",)
    list_select_related = ("customer",)
    ordering = ("-created", "-id")
    create_page = views.grant_create
    detail_page = views.grant_detail

    @admin.display(description="Amount")
    def granted(self, grant: CreditGrant):
        return format_html(
            '<span class="tally-money">{}</span>',
            format_minor(grant.amount, grant.currency),
        )

    @admin.display(description="Remaining", ordering="balance")
    def remaining(self, grant: CreditGrant):
        return format_html(
            '<span class="tally-money">{}</span>',
            format_minor(grant.balance, grant.currency),
        )

    @admin.display(description="Status", ordering="status")
    def status_display(self, grant: CreditGrant):
        return status_badge(grant)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Grants are voided or expired, never deleted: the ledger points at them.
        return False

    def action_urls(self):
        return [
            ("expire", "expire", views.grant_expire),
            ("void", "void", views.grant_void),
        ]


@admin.register(CreditBalanceTransaction)
class CreditBalanceTransactionAdmin(ScaledListMixin, CsvExportMixin, admin.ModelAdmin):
    """The ledger, read only: rows are written by the credits services alone.

    Filtered to one customer, each row shows the customer's balance after it in
    its currency (a window sum over the customer's rows, oldest first).
    """

    list_display = (
        "id",
        "customer",
        "credit_grant",
        "kind",
        "signed",
        "balance_after",
        "invoice",
        "effective_at",
        "created",
    )
    list_filter = (
        CustomerIdFilter,
        ("created", DateRangeFilter),
        ("effective_at", DateRangeFilter),
        "kind",
        CurrencyFilter,
    )
    # Ids exactly, customers by id, email or name (core.admin_scale).
    search_fields = ("id",)
    exact_search_fields = ("id", "credit_grant_id", "invoice")
    list_select_related = ("credit_grant", "customer")
    ordering = ("-created", "-id")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.GET.get(CustomerIdFilter.parameter_name):
            queryset = queryset.annotate(running_balance=ledger_running_balance())
        return queryset

    @admin.display(description="Balance after")
    def balance_after(self, entry: CreditBalanceTransaction):
        running = getattr(entry, "running_balance", None)
        if running is None:
            return "—"
        return format_html(
            '<span class="tally-money">{}</span>', format_minor(running, entry.currency)
        )

    @admin.display(description="Amount")
    def signed(self, entry: CreditBalanceTransaction):
        return format_html(
            '<span class="tally-money">{}</span>',
            format_minor(entry.signed_amount, entry.currency),
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

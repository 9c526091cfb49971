"""Billing credits in the staff dashboard; the pages live in ``credits.views``."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from core.money import format_minor
from credits import views
from credits.models import CreditBalanceTransaction, CreditGrant


def status_badge(grant: CreditGrant):
    css = {"pending": "warn", "active": "active", "expired": "inactive"}
    return format_html(
        '<span class="tally-badge {}">{}</span>',
        css.get(grant.status, "void"),
        grant.get_status_display(),
    )


@admin.register(CreditGrant)
class CreditGrantAdmin(admin.ModelAdmin):
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
    list_filter = ("status", "category", "currency")
    search_fields = ("id", "name", "customer__id", "customer__name", "customer__email")
    list_select_related = ("customer",)
    ordering = ("-created", "-id")

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

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return views.grant_create(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            raise PermissionDenied
        return views.grant_detail(request, unquote(object_id), model_admin=self)

    def _changing(self, view):
        def wrapped(request, object_id):
            if not self.has_change_permission(request):
                raise PermissionDenied
            return view(request, object_id, model_admin=self)

        return self.admin_site.admin_view(require_POST(wrapped))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/expire/",
                self._changing(views.grant_expire),
                name="credits_creditgrant_expire",
            ),
            path(
                "<path:object_id>/void/",
                self._changing(views.grant_void),
                name="credits_creditgrant_void",
            ),
            *super().get_urls(),
        ]


@admin.register(CreditBalanceTransaction)
class CreditBalanceTransactionAdmin(admin.ModelAdmin):
    """The ledger, read only: rows are written by the credits services alone."""

    list_display = (
        "id",
        "credit_grant",
        "kind",
        "signed",
        "invoice",
        "invoice_line_item",
        "effective_at",
        "created",
    )
    list_filter = ("kind", "currency")
    search_fields = ("id", "credit_grant__id", "customer__id", "invoice")
    list_select_related = ("credit_grant",)
    ordering = ("-created", "-id")

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

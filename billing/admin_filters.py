"""Invoice list filters the dashboard home links to: past due, by product."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef

from billing.models import InvoiceLineItem
from core import clock


class PastDueFilter(admin.SimpleListFilter):
    """``?past_due=1``: open invoices with an amount left after their due date."""

    title = "past due"
    parameter_name = "past_due"

    def lookups(self, request, model_admin):
        return [("1", "Past due")]

    def queryset(self, request, queryset):
        if self.value() != "1":
            return queryset
        return queryset.filter(
            status="open", due_date__lt=clock.now(), amount_remaining__gt=0
        )


class ProductFilter(admin.SimpleListFilter):
    """``?product=prod_…``: invoices with a line of one product's prices.

    Lists no choices (no query over the catalog to draw the sidebar): the home
    page's usage-by-product figures link here.
    """

    title = "product"
    parameter_name = "product"

    def lookups(self, request, model_admin):
        product_id = self.value()
        return [(product_id, product_id)] if product_id else []

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        lines = InvoiceLineItem.objects.filter(
            invoice=OuterRef("pk"), price__product_id=self.value()
        )
        return queryset.filter(Exists(lines))

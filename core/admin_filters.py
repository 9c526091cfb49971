"""List filters shared by the dashboard's lists: one customer, a created period.

Neither lists choices from the table (no query over a million rows to draw the
sidebar): the customer filter shows the customer picked (links from the customer
page set ``?customer=cus_…``), the period filter fixed periods.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin

from core import clock


class CustomerIdFilter(admin.SimpleListFilter):
    """``?customer=cus_…``: the rows of one customer (``customer_id`` column)."""

    title = "customer"
    parameter_name = "customer"

    def lookups(self, request, model_admin):
        customer_id = self.value()
        return [(customer_id, customer_id)] if customer_id else []

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(customer_id=self.value())
        return queryset


class CreatedPeriodFilter(admin.SimpleListFilter):
    """``?created=7d``: created today, in the last 7 or 30 days, this month or
    year (UTC)."""

    title = "created"
    parameter_name = "created"
    PERIODS = {
        "today": "Today",
        "7d": "Last 7 days",
        "30d": "Last 30 days",
        "month": "This month",
        "year": "This year",
    }

    def lookups(self, request, model_admin):
        return list(self.PERIODS.items())

    def queryset(self, request, queryset):
        if self.value() not in self.PERIODS:
            return queryset
        return queryset.filter(created__gte=self.period_start(self.value()))

    @staticmethod
    def period_start(period: str):
        now = clock.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return {
            "today": midnight,
            "7d": now - timedelta(days=7),
            "30d": now - timedelta(days=30),
            "month": midnight.replace(day=1),
            "year": midnight.replace(month=1, day=1),
        }[period]

"""List filters shared by the dashboard's lists: one customer, a created period.

Neither lists choices from the table (no query over a million rows to draw the
sidebar): the customer filter shows the customer picked (links from the customer
page set ``?customer=cus_…``), the period filter fixed periods.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def _bound(value) -> datetime | None:
    """A ``YYYY-MM-DD`` day (its UTC midnight) or an ISO 8601 instant, or None."""
    value = value[-1] if isinstance(value, list) else value
    if not value:
        return None
    text = str(value).strip()
    # An offset's "+" arrives as a space when a link left it unencoded.
    head, _, tail = text.rpartition(" ")
    for candidate in (text, f"{head}+{tail}" if head else text):
        try:
            moment = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


class DateRangeFilter(admin.FieldListFilter):
    """``?<field>__gte=…&<field>__lt=…``: rows of a date range (UTC).

    Either bound may be a day (``2026-11-01``, its midnight) or an instant; the
    end is exclusive, as a period is. The sidebar has a few presets and two date
    boxes; the home page links to whole months the same way.
    """

    template = "admin/tally/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_gte = f"{field_path}__gte"
        self.lookup_lt = f"{field_path}__lt"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = f"{getattr(field, 'verbose_name', field_path)} (UTC)"
        # The other filters and the search, kept by the date boxes' form.
        self.kept = [
            (name, value)
            for name, values in request.GET.lists()
            if name not in (self.lookup_gte, self.lookup_lt, "p")
            for value in values
        ]

    def expected_parameters(self):
        return [self.lookup_gte, self.lookup_lt]

    def _value(self, name: str) -> str:
        value = self.used_parameters.get(name)
        value = value[-1] if isinstance(value, list) else value
        return str(value or "")

    def queryset(self, request, queryset):
        bounds = {
            name: _bound(self.used_parameters.get(name))
            for name in self.expected_parameters()
        }
        return queryset.filter(
            **{name: moment for name, moment in bounds.items() if moment is not None}
        )

    def choices(self, changelist):
        today = clock.now().date()
        presets = [
            ("Any date", None, None),
            ("Last 7 days", today - timedelta(days=6), today + timedelta(days=1)),
            ("Last 30 days", today - timedelta(days=29), today + timedelta(days=1)),
            ("This month", today.replace(day=1), None),
            ("This year", today.replace(month=1, day=1), None),
        ]
        current = (self._value(self.lookup_gte), self._value(self.lookup_lt))
        for label, start, end in presets:
            wanted = (str(start or ""), str(end or ""))
            yield {
                "selected": wanted == current,
                "query_string": changelist.get_query_string(
                    {
                        name: value
                        for name, value in zip(
                            self.expected_parameters(), wanted, strict=True
                        )
                        if value
                    },
                    [self.lookup_gte, self.lookup_lt],
                ),
                "display": label,
            }

    def date_inputs(self) -> dict:
        """The form's values: the two boxes (days) and the parameters it keeps."""
        return {
            "gte_name": self.lookup_gte,
            "lt_name": self.lookup_lt,
            "gte": self._value(self.lookup_gte)[:10],
            "lt": self._value(self.lookup_lt)[:10],
            "kept": self.kept,
        }


class ChoicesFilter(admin.SimpleListFilter):
    """A filter of one column whose choices are a short list known without a
    ``SELECT DISTINCT`` over the table (a million rows to draw a sidebar).

    Subclasses set ``title``, ``parameter_name`` (the column) and ``choices()``.
    """

    def choices_known(self) -> list[str]:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        known = self.choices_known()
        if self.value() and self.value() not in known:
            known = [*known, self.value()]
        return [(value, value) for value in known]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.parameter_name: self.value()})
        return queryset


class EventTypeFilter(ChoicesFilter):
    """``?type=invoice.paid``: the event types Tally sends."""

    title = "type"
    parameter_name = "type"

    def choices_known(self) -> list[str]:
        from core.webhooks.policy import KNOWN_EVENT_TYPES

        return sorted(KNOWN_EVENT_TYPES)

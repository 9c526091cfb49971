"""Staff dashboard for core objects: customers, test clocks, events (API keys:
``core.admin_keys``)."""

from __future__ import annotations

import copy
import json
from datetime import UTC

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core import balance_pages, clock, modes
from core.admin_export import CsvExportMixin
from core.admin_filters import DateRangeFilter, EventTypeFilter
from core.admin_scale import CappedPaginator, ScaledListMixin
from core.dashboard import clock_shortcuts, customer_panels
from core.errors import TallyError
from core.models import Customer, Event, TestClock
from core.services import customers, portal, test_clocks

admin.site.site_header = "Tally"
admin.site.site_title = "Tally dashboard"
admin.site.index_title = "Dashboard"
# The site is the dashboard ("/" redirects here): no "View site" link looping back.
admin.site.site_url = None


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = (
            "name",
            "email",
            "description",
            "phone",
            "invoice_prefix",
            "tax_exempt",
            "test_clock",
        )

    invoice_prefix = forms.RegexField(
        regex=r"^[A-Z0-9]{3,12}$",
        required=False,
        error_messages={"invalid": "Use 3–12 uppercase letters or digits."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A read-only role's form has no fields: every one is shown read only.
        if "invoice_prefix" in self.fields:
            self.fields[
                "invoice_prefix"
            ].help_text = "3–12 uppercase letters or digits; generated when empty."
        if "tax_exempt" in self.fields:
            self.fields["tax_exempt"].required = False  # empty: unchanged ("none")
            self.fields["tax_exempt"].help_text = (
                "Exempt: no tax is charged. Reverse: no tax is charged and "
                'invoices say "Reverse charge".'
            )
        # Ids are set at construction, so a new customer has a pk already.
        if not self.instance._state.adding and "test_clock" in self.fields:
            self.fields["test_clock"].disabled = True

    def clean_invoice_prefix(self):
        prefix = self.cleaned_data.get("invoice_prefix")
        if prefix and self.instance.pk and prefix != self.instance.invoice_prefix:
            renamed = copy.copy(self.instance)
            renamed.invoice_prefix = prefix
            try:
                customers.invoice_numbering_check(renamed)
            except TallyError as error:
                raise forms.ValidationError(error.message) from None
        return prefix


@admin.register(Customer)
class CustomerAdmin(CsvExportMixin, admin.ModelAdmin):
    form = CustomerForm
    list_display = ("display_name", "email", "id", "test_clock", "created")
    list_filter = ("deleted", ("test_clock", admin.EmptyFieldListFilter))
    search_fields = ("id", "name", "email", "description")
    readonly_fields = ("id", "created")
    change_form_template = "admin/core/customer/change_form.html"
    list_select_related = ("test_clock",)
    # Counts capped, 50 a page (core.admin_scale); the search stays Django's.
    paginator = CappedPaginator
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description="Name", ordering="name")
    def display_name(self, obj: Customer) -> str:
        return f"{obj} (deleted)" if obj.deleted else str(obj)

    def save_model(self, request, obj, form, change):
        params = {
            key: form.cleaned_data.get(key) or None
            for key in (
                "name",
                "email",
                "description",
                "phone",
                "invoice_prefix",
                "tax_exempt",
            )
        }
        if not params["invoice_prefix"]:
            params.pop("invoice_prefix")
        if change:
            saved = customers.customer_update(customer=obj, params=params)
        else:
            saved = customers.customer_create(
                params=params, test_clock=form.cleaned_data.get("test_clock")
            )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        customers.customer_delete(customer=obj)

    def delete_queryset(self, request, queryset):
        for customer in queryset:
            customers.customer_delete(customer=customer)

    # A customer's page is a read-only summary with its panels; "Edit" (``?edit``)
    # opens the form, so a glance never risks a change.
    SUMMARY_FIELDS = (
        "name",
        "email",
        "description",
        "phone",
        "invoice_prefix",
        "tax_exempt",
        "test_clock",
        "id",
        "created",
    )

    @staticmethod
    def _summary(request, obj) -> bool:
        return obj is not None and request.method == "GET" and "edit" not in request.GET

    def get_readonly_fields(self, request, obj=None):
        if self._summary(request, obj):
            return self.SUMMARY_FIELDS
        return super().get_readonly_fields(request, obj)

    def get_object(self, request, object_id, from_field=None):
        """The customer with its test clock, read once per request: the summary's
        panels and Django's change view both ask for it (one query, not four)."""
        key = (object_id, from_field)
        cached = getattr(request, "_tally_customer", None)
        if cached is None or cached[0] != key:
            customer = super().get_object(request, object_id, from_field)
            request._tally_customer = cached = (key, customer)
        return cached[1]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("test_clock")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, unquote(object_id))
        summary = self._summary(request, customer)
        context = {"live_links": _live_links(customer), "summary": summary}
        if summary:
            context.update(
                title=str(customer),
                subtitle=None,
                show_save=False,
                show_save_and_continue=False,
                show_save_and_add_another=False,
                show_delete=False,
                customer_panels=[
                    {"title": panel.title, "html": panel.render(customer, request)}
                    for panel in customer_panels()
                ],
            )
        elif customer is not None:
            context.update(title=f"Edit {customer}", subtitle=None)
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), **context}
        )

    def get_urls(self):
        return [
            path(
                "<str:object_id>/customer-page/",
                self.admin_site.admin_view(self.customer_page_view),
                name="core_customer_page",
            ),
            path(
                "<str:object_id>/balance/adjust/",
                self.admin_site.admin_view(self.balance_adjust_view),
                name="core_customer_balance_adjust",
            ),
            path(
                "<str:object_id>/customer-page/revoke/",
                self.admin_site.admin_view(self.revoke_links_view),
                name="core_customer_page_revoke",
            ),
            *super().get_urls(),
        ]

    def balance_adjust_view(self, request, object_id):
        return balance_pages.balance_adjust(
            request, unquote(object_id), model_admin=self
        )

    def _changeable(self, request, object_id) -> Customer:
        if request.method != "POST":
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=object_id, deleted=False)
        if not self.has_change_permission(request, customer):
            raise PermissionDenied
        return customer

    def customer_page_view(self, request, object_id):
        """Make a fresh link to the customer's pages and open it (new tab)."""
        customer = self._changeable(request, object_id)
        session = portal.portal_session_create(
            customer=customer,
            now=clock.now(),
            base_url=request.build_absolute_uri("/"),
        )
        return HttpResponseRedirect(session.url)

    def revoke_links_view(self, request, object_id):
        customer = self._changeable(request, object_id)
        count = portal.portal_sessions_revoke(customer=customer, now=clock.now())
        self.message_user(request, f"Revoked {count} customer page link(s).")
        return HttpResponseRedirect(
            reverse("admin:core_customer_change", args=[quote(customer.pk)])
        )


def _live_links(customer: Customer | None) -> int:
    if customer is None:
        return 0
    return customer.portal_sessions.filter(
        revoked_at__isnull=True, expires_at__gt=clock.now()
    ).count()


class AdvanceForm(forms.Form):
    frozen_time = forms.DateTimeField(
        label="Advance to (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )


@admin.register(TestClock)
class TestClockAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "id",
        "frozen_time",
        "status",
        "customer_count",
        "created",
    )
    fields = ("name", "frozen_time")
    readonly_fields = ("status",)
    change_form_template = "admin/core/testclock/change_form.html"

    @admin.display(description="Customers")
    def customer_count(self, obj: TestClock) -> int:
        return obj.customers.count()

    def has_add_permission(self, request) -> bool:
        # Test clocks are test mode only (core.modes), as in Stripe's dashboard.
        return modes.active() is not True and super().has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        return ("frozen_time", "status", "id") if obj else ()

    def get_fields(self, request, obj=None):
        return ("id", "name", "frozen_time", "status") if obj else self.fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        created = test_clocks.test_clock_create(
            frozen_time=form.cleaned_data["frozen_time"],
            name=form.cleaned_data.get("name", ""),
            now=clock.now(),
        )
        obj.pk = created.pk

    def delete_model(self, request, obj):
        test_clocks.test_clock_delete(test_clock=obj)

    def get_urls(self):
        return [
            path(
                "<str:object_id>/advance/",
                self.admin_site.admin_view(self.advance_view),
                name="core_testclock_advance",
            ),
            *super().get_urls(),
        ]

    def advance_view(self, request, object_id):
        test_clock = get_object_or_404(TestClock, pk=object_id)
        # Advancing closes periods and finalizes invoices: a change, not a view.
        if not self.has_change_permission(request, test_clock):
            raise PermissionDenied
        form = AdvanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            target = form.cleaned_data["frozen_time"].astimezone(UTC)
            try:
                test_clocks.test_clock_advance(
                    test_clock=test_clock, frozen_time=target
                )
            except TallyError as error:
                form.add_error("frozen_time", error.message)
            else:
                self.message_user(
                    request, f"Advancing {test_clock} to {target:%Y-%m-%d %H:%M} UTC."
                )
                return HttpResponseRedirect(
                    reverse("admin:core_testclock_change", args=[quote(test_clock.pk)])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": test_clock,
            "form": form,
            "shortcuts": clock_shortcuts(test_clock),
            "title": f"Advance {test_clock}",
        }
        return TemplateResponse(request, "admin/core/testclock/advance.html", context)


@admin.register(Event)
class EventAdmin(ScaledListMixin, CsvExportMixin, admin.ModelAdmin):
    list_display = ("type", "object_id", "id", "created")
    list_filter = (("created", DateRangeFilter), EventTypeFilter)
    # Ids exactly (each indexed); events have no customer column.
    search_fields = ("id",)
    exact_search_fields = ("id", "object_id")
    customer_search_field = None
    readonly_fields = (
        "id",
        "type",
        "object_id",
        "created",
        "request_id",
        "idempotency_key",
        "pretty_data",
    )
    fields = readonly_fields

    @admin.display(description="Data")
    def pretty_data(self, obj: Event):
        return format_html("<pre class='json'>{}</pre>", json.dumps(obj.data, indent=2))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# The audit log (core/admin_audit.py), API keys (core/admin_keys.py); webhooks,
# webhook deliveries and the email outbox (core/webhooks/admin/).
from core import admin_audit, admin_keys  # noqa: E402, F401
from core.webhooks import admin as webhooks_admin  # noqa: E402, F401

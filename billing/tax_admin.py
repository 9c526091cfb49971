"""Tax rates and customers' tax ids in the staff dashboard.

Tax rates: a list (filter by active, inclusive), create, edit (percentage and
inclusive only until a finalized invoice used the rate), archive. A customer's
tax status and tax ids show on the customer page (a panel) and are managed on
their own page, each change through ``billing.taxes``' services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from billing.models import TaxId, TaxRate
from billing.taxes import customer_tax_ids, rates
from billing.taxes.tax_ids import TAX_ID_TYPES, VALIDATORS
from core import clock, dashboard
from core.admin_pages import admin_page
from core.errors import TallyError
from core.models import Customer

_RATE_FIELDS = (
    "display_name",
    "percentage",
    "inclusive",
    "description",
    "jurisdiction",
    "country",
    "state",
    "tax_type",
    "active",
)


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = _RATE_FIELDS
        help_texts = {
            "display_name": "Shown on invoices, e.g. VAT or Sales tax.",
            "percentage": "Out of 100, up to 4 decimal places.",
            "inclusive": "Contained in the price (VAT-style) instead of added to it.",
            "description": "For your team only; customers do not see it.",
            "jurisdiction": "Shown on invoices, e.g. DE or New York.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.used_at is not None:
            for name in ("percentage", "inclusive"):
                self.fields[name].disabled = True
                self.fields[name].help_text = (
                    "Used on a finalized invoice: archive this rate and create a "
                    "new one to change it."
                )

    def clean_percentage(self):
        value = self.cleaned_data["percentage"]
        if value is not None and not 0 <= value <= 100:
            raise forms.ValidationError("Between 0 and 100.")
        return value


def _active_badge(active: bool):
    return format_html(
        '<span class="tally-badge {}">{}</span>',
        "active" if active else "inactive",
        "Active" if active else "Archived",
    )


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    form = TaxRateForm
    list_display = (
        "display_name",
        "rate",
        "kind",
        "jurisdiction",
        "country",
        "status",
        "used_at",
        "id",
    )
    list_filter = ("active", "inclusive", "tax_type")
    search_fields = ("id", "display_name", "jurisdiction", "description")
    ordering = ("-created", "-id")
    actions = ["archive", "unarchive"]

    @admin.display(description="Percentage", ordering="percentage")
    def rate(self, rate: TaxRate) -> str:
        return f"{rate.percentage.normalize():f}%"

    @admin.display(description="Type", ordering="inclusive")
    def kind(self, rate: TaxRate) -> str:
        return "Inclusive" if rate.inclusive else "Exclusive"

    @admin.display(description="Status", ordering="active")
    def status(self, rate: TaxRate):
        return _active_badge(rate.active)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # archived, never deleted: invoices name them

    def save_model(self, request, obj, form, change):
        params = {name: form.cleaned_data.get(name) for name in _RATE_FIELDS}
        for name in ("description", "jurisdiction", "country", "state", "tax_type"):
            params[name] = params[name] or None
        try:
            if change:
                saved = rates.tax_rate_update(rate=obj, params=params)
            else:
                saved = rates.tax_rate_create(params=params, now=clock.now())
        except TallyError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = saved.pk

    def _set_active(self, request, queryset, active: bool) -> None:
        for rate in queryset:
            rates.tax_rate_update(rate=rate, params={"active": active})
        verb = "Restored" if active else "Archived"
        self.message_user(request, f"{verb} {queryset.count()} tax rate(s).")

    @admin.action(description="Archive selected tax rates")
    def archive(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Restore selected tax rates")
    def unarchive(self, request, queryset):
        self._set_active(request, queryset, True)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "customer/<str:customer_id>/",
                view(self.customer_taxes_view),
                name="billing_customer_taxes",
            ),
            path(
                "customer/<str:customer_id>/tax-ids/<str:tax_id>/delete/",
                view(self.tax_id_delete_view),
                name="billing_customer_tax_id_delete",
            ),
            *super().get_urls(),
        ]

    def _customer(self, request, customer_id: str) -> Customer:
        customer = get_object_or_404(Customer, pk=unquote(customer_id), deleted=False)
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        return customer

    def customer_taxes_view(self, request, customer_id: str):
        """The customer's tax ids: add one (checked), delete one."""
        customer = self._customer(request, customer_id)
        form = TaxIdForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                customer_tax_ids.tax_id_create(
                    customer=customer,
                    tax_type=form.cleaned_data["type"],
                    value=form.cleaned_data["value"],
                    now=clock.now_for_customer(customer),
                )
            except TallyError as error:
                form.add_error("value", error.message)
            else:
                self.message_user(request, "Added the tax id.")
                return HttpResponseRedirect(customer_taxes_url(customer.pk))
        return admin_page(
            request,
            self,
            "billing/customer_taxes.html",
            f"Tax ids of {customer}",
            customer=customer,
            customer_url=reverse(
                "admin:core_customer_change", args=[quote(customer.pk)]
            ),
            tax_ids=customer_tax_ids.customer_tax_ids(customer_id=customer.pk),
            form=form,
        )

    def tax_id_delete_view(self, request, customer_id: str, tax_id: str):
        if request.method != "POST":
            raise PermissionDenied
        customer = self._customer(request, customer_id)
        row = get_object_or_404(TaxId, pk=unquote(tax_id), customer=customer)
        customer_tax_ids.tax_id_delete(tax_id=row)
        self.message_user(request, f"Deleted the tax id {row.value}.")
        return HttpResponseRedirect(customer_taxes_url(customer.pk))


class TaxIdForm(forms.Form):
    type = forms.ChoiceField(
        choices=[(name, name) for name in sorted(TAX_ID_TYPES)],
        initial="eu_vat",
        help_text="Types checked for format and check digits: "
        + ", ".join(sorted(VALIDATORS))
        + ".",
    )
    value = forms.CharField(max_length=64, help_text="e.g. DE123456789")


def customer_taxes_url(customer_id: str) -> str:
    return reverse("admin:billing_customer_taxes", args=[quote(customer_id)])


def tax_panel(customer, request) -> SafeString:
    """The customer page's tax panel: exemption and tax ids."""
    return mark_safe(
        render_to_string(
            "billing/_tax_panel.html",
            {
                "customer": customer,
                "tax_ids": customer_tax_ids.customer_tax_ids(customer_id=customer.pk),
                "manage_url": customer_taxes_url(customer.pk),
            },
            request=request,
        )
    )


dashboard.register_customer_panel(
    dashboard.CustomerPanel(name="taxes", title="Taxes", render=tax_panel, order=15)
)

"""Payments in the staff dashboard: cards, payments and their attempts, refunds,
and the retry and dunning settings a finance person edits."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from core.money import format_minor
from payments.models import (
    AutoTopUp,
    CollectionSettings,
    InvoicePayment,
    PaidCredit,
    PaymentAttempt,
    PaymentIntent,
    PaymentMethod,
    Refund,
    TopUp,
)
from payments.schedule import retry_days_clean


class _ReadOnly(admin.ModelAdmin):
    """Rows written by the payments services alone."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _money(amount: int | None, currency: str):
    if amount is None:
        return "—"
    return format_html(
        '<span class="tally-money">{}</span>', format_minor(amount, currency)
    )


@admin.register(PaymentMethod)
class PaymentMethodAdmin(_ReadOnly):
    list_display = ("__str__", "customer", "expiry", "processor", "livemode", "created")
    list_filter = ("type", "processor", "livemode")
    search_fields = ("id", "customer__id", "customer__name", "customer__email")
    list_select_related = ("customer",)
    ordering = ("-created", "-id")

    @admin.display(description="Expires")
    def expiry(self, method: PaymentMethod) -> str:
        card = method.card or {}
        return f"{card.get('exp_month', '')}/{card.get('exp_year', '')}"


class AttemptInline(admin.TabularInline):
    model = PaymentAttempt
    fields = (
        "number",
        "status",
        "amount",
        "payment_method",
        "failure_code",
        "decline_code",
        "created",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PaymentIntent)
class PaymentIntentAdmin(_ReadOnly):
    list_display = ("id", "customer", "invoice", "amount_shown", "status", "created")
    list_filter = ("status", "currency", "livemode")
    search_fields = ("id", "customer__id", "invoice__id", "invoice__number")
    list_select_related = ("customer", "invoice")
    ordering = ("-created", "-id")
    inlines = (AttemptInline,)

    @admin.display(description="Amount")
    def amount_shown(self, intent: PaymentIntent):
        return _money(intent.amount, intent.currency)


@admin.register(InvoicePayment)
class InvoicePaymentAdmin(_ReadOnly):
    list_display = ("id", "invoice", "requested", "paid", "status", "paid_at")
    list_filter = ("status", "livemode")
    search_fields = ("id", "invoice__id", "invoice__number")
    ordering = ("-created", "-id")

    @admin.display(description="Requested")
    def requested(self, payment: InvoicePayment):
        return _money(payment.amount_requested, payment.currency)

    @admin.display(description="Paid")
    def paid(self, payment: InvoicePayment):
        return _money(payment.amount_paid, payment.currency)


@admin.register(Refund)
class RefundAdmin(_ReadOnly):
    list_display = (
        "id",
        "payment_intent",
        "amount_shown",
        "reason",
        "status",
        "created",
    )
    list_filter = ("status", "reason")
    ordering = ("-created", "-id")

    @admin.display(description="Amount")
    def amount_shown(self, refund: Refund):
        return _money(refund.amount, refund.currency)


class CollectionSettingsForm(forms.ModelForm):
    retry_days = forms.CharField(
        help_text="Days after the first failed attempt at which to retry, e.g. "
        "“3, 7, 14” (four attempts over two weeks). Empty: no retries.",
        required=False,
    )

    class Meta:
        model = CollectionSettings
        fields = ("retry_days", "subscription_end", "invoice_end", "dunning_emails")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        days = self.initial.get("retry_days")
        if isinstance(days, list):
            self.initial["retry_days"] = ", ".join(str(day) for day in days)

    def clean_retry_days(self) -> list[int]:
        text = self.cleaned_data.get("retry_days") or ""
        try:
            return retry_days_clean(
                [int(part) for part in text.replace(",", " ").split()]
            )
        except ValueError as exc:
            raise forms.ValidationError(f"Whole days, increasing: {exc}.") from exc


@admin.register(CollectionSettings)
class CollectionSettingsAdmin(admin.ModelAdmin):
    """One row: retries and what happens when they run out."""

    form = CollectionSettingsForm
    list_display = ("__str__", "retry_days", "subscription_end", "invoice_end")

    def has_add_permission(self, request) -> bool:
        return not CollectionSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AutoTopUp)
class AutoTopUpAdmin(admin.ModelAdmin):
    """Customers' standing top-up orders (amounts in minor units)."""

    list_display = (
        "customer",
        "threshold_shown",
        "amount_shown",
        "ceiling_shown",
        "enabled",
        "armed",
        "crossings",
    )
    list_filter = ("enabled", "currency")
    search_fields = ("customer__id", "customer__name", "customer__email")
    fields = (
        "customer",
        "currency",
        "threshold",
        "amount",
        "monthly_ceiling",
        "enabled",
    )
    raw_id_fields = ("customer",)

    @admin.display(description="Below")
    def threshold_shown(self, top_up: AutoTopUp):
        return _money(top_up.threshold, top_up.currency)

    @admin.display(description="Buy")
    def amount_shown(self, top_up: AutoTopUp):
        return _money(top_up.amount, top_up.currency)

    @admin.display(description="Monthly ceiling")
    def ceiling_shown(self, top_up: AutoTopUp):
        return _money(top_up.monthly_ceiling, top_up.currency)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            from core import clock

            obj.created = clock.now()
            obj.livemode = obj.customer.livemode
        super().save_model(request, obj, form, change)


@admin.register(TopUp)
class TopUpAdmin(_ReadOnly):
    list_display = (
        "auto_top_up",
        "crossing",
        "amount",
        "balance_seen",
        "invoice",
        "created",
    )
    ordering = ("-created", "-id")


@admin.register(PaidCredit)
class PaidCreditAdmin(_ReadOnly):
    list_display = ("invoice", "credit_grant", "created")
    ordering = ("-created", "-id")

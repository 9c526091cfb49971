"""Payments in the staff dashboard: cards, payments and their attempts, refunds,
and the retry and dunning settings a finance person edits."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from billing.models import Invoice
from core import clock
from core.errors import TallyError
from core.modes import in_mode
from core.money import currency_exponent, format_minor
from payments import admin_statements  # noqa: F401 - bank statements' admins
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
from payments.services.receivables import invoice_payment_record


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


class RecordPaymentForm(forms.ModelForm):
    """Staff record money received elsewhere (a transfer, a cheque), in full or part."""

    invoice_ref = forms.CharField(
        label="Invoice", help_text="The invoice's number (e.g. ABCD1234-0007) or id."
    )
    received = forms.DecimalField(
        label="Amount received", min_value=Decimal("0.01"), decimal_places=3
    )
    reference = forms.CharField(required=False, max_length=500)

    class Meta:
        model = InvoicePayment
        fields = ()

    def clean(self):
        cleaned = super().clean()
        ref = (cleaned.get("invoice_ref") or "").strip()
        found = list(
            in_mode(Invoice.objects.filter(Q(pk=ref) | Q(number=ref)))
            .exclude(status="draft")
            .select_related("customer")[:2]
        )
        if len(found) != 1:
            raise forms.ValidationError(
                {"invoice_ref": "No single finalized invoice has this number or id."}
            )
        invoice = found[0]
        cleaned["invoice"] = invoice
        if cleaned.get("received") is not None:
            minor = cleaned["received"].scaleb(currency_exponent(invoice.currency))
            if minor != minor.to_integral_value():
                raise forms.ValidationError({"received": "Too many decimals."})
            cleaned["amount"] = int(minor)
            if invoice.status not in ("open", "uncollectible"):
                raise forms.ValidationError(
                    {"invoice_ref": f"This invoice is {invoice.status}."}
                )
            if cleaned["amount"] > invoice.amount_remaining:
                raise forms.ValidationError(
                    {
                        "received": "More than what remains due ("
                        f"{format_minor(invoice.amount_remaining, invoice.currency)})."
                    }
                )
        return cleaned


@admin.register(InvoicePayment)
class InvoicePaymentAdmin(admin.ModelAdmin):
    """Payments toward invoices; "Add" records one received outside Tally."""

    list_display = ("id", "invoice", "kind", "requested", "paid", "status", "paid_at")
    list_filter = ("status", "livemode")
    search_fields = ("id", "invoice__id", "invoice__number")
    ordering = ("-created", "-id")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = RecordPaymentForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("invoice_ref", "received", "reference")
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [field.name for field in InvoicePayment._meta.fields]

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        invoice = form.cleaned_data["invoice"]
        try:
            payment = invoice_payment_record(
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                reference=form.cleaned_data.get("reference") or "",
                now=clock.now_for_customer(invoice.customer),
            )
        except TallyError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            obj.pk = None
            return
        obj.pk = payment.pk

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Type")
    def kind(self, payment: InvoicePayment) -> str:
        return "card" if payment.payment_intent_id else "recorded"

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
        "credit_note",
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

"""Dashboard forms: they check shapes and turn input into service parameters."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from billing.models import TaxRate
from catalog import display
from catalog.models import Price
from core.form_fields import CustomerField
from core.models import Customer
from core.money import currency_exponent

ITEM_ROWS = 5
LINE_ROWS = 5
CURRENCIES = [("usd", "USD"), ("eur", "EUR"), ("gbp", "GBP"), ("jpy", "JPY")]


def _customers():
    return Customer.objects.filter(deleted=False).order_by("name", "id")


CustomerChoiceField = CustomerField


class PriceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, price: Price) -> str:
        name = price.nickname or price.product.name
        return f"{name} — {display.price_summary(price)}"


def _tax_rates_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        queryset=TaxRate.objects.filter(active=True).order_by("display_name", "id"),
        required=False,
        label="Tax rates",
        help_text="Applied to every line (Billing → Tax rates).",
    )


def _recurring_prices():
    return (
        Price.objects.filter(active=True, type="recurring")
        .select_related("product")
        .prefetch_related("tiers")
        .order_by("product__name", "created")
    )


class SubscriptionForm(forms.Form):
    """Create subscription: customer, prices and quantities, trial, anchor."""

    customer = CustomerChoiceField(queryset=_customers())
    trial_period_days = forms.IntegerField(
        required=False, min_value=1, max_value=730, label="Trial (days)"
    )
    billing_cycle_anchor_day = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=31,
        label="Bill on day of month",
        help_text="Empty: the subscription's start day. Month ends are clamped.",
    )
    collection_method = forms.ChoiceField(
        choices=[
            ("charge_automatically", "Charge automatically"),
            ("send_invoice", "Email invoice to the customer"),
        ],
        initial="charge_automatically",
    )
    days_until_due = forms.IntegerField(
        required=False, min_value=0, max_value=730, initial=30
    )
    cancel_at_period_end = forms.BooleanField(required=False)
    description = forms.CharField(required=False, max_length=500)
    default_tax_rates = _tax_rates_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index in range(ITEM_ROWS):
            # A row of a table headed "Price | Quantity": each control names
            # its column and row for screen readers.
            self.fields[f"price_{index}"] = PriceChoiceField(
                queryset=_recurring_prices(),
                required=index == 0,
                label="Price",
                widget=forms.Select(attrs={"aria-label": f"Price {index + 1}"}),
            )
            self.fields[f"quantity_{index}"] = forms.IntegerField(
                required=False,
                min_value=0,
                max_value=10**9,
                label="Quantity",
                widget=forms.NumberInput(
                    attrs={"aria-label": f"Quantity of price {index + 1}"}
                ),
            )

    def item_rows(self):
        return [
            (self[f"price_{index}"], self[f"quantity_{index}"])
            for index in range(ITEM_ROWS)
        ]

    def clean(self):
        data = super().clean()
        if data.get("collection_method") != "send_invoice":
            data["days_until_due"] = None
        for index in range(ITEM_ROWS):
            price = data.get(f"price_{index}")
            if price is not None and price.is_metered:
                self._refuse_metered_quantity(index)
        return data

    def _refuse_metered_quantity(self, index: int) -> None:
        # Stripe refuses it too: a metered item's quantity is its reported usage.
        if self.cleaned_data.get(f"quantity_{index}") is not None:
            self.add_error(
                f"quantity_{index}",
                "A metered price is billed on reported usage: leave the quantity "
                "empty.",
            )

    def to_params(self) -> dict:
        data = self.cleaned_data
        items = []
        for index in range(ITEM_ROWS):
            price = data.get(f"price_{index}")
            if price is None:
                continue
            item = {"price": price.pk}
            quantity = data.get(f"quantity_{index}")
            if not price.is_metered:
                item["quantity"] = 1 if quantity is None else quantity
            items.append(item)
        params = {
            "items": items,
            "collection_method": data["collection_method"],
            "cancel_at_period_end": data["cancel_at_period_end"],
        }
        if data["collection_method"] == "send_invoice":
            params["days_until_due"] = data.get("days_until_due") or 30
        for field in ("trial_period_days", "description"):
            if data.get(field):
                params[field] = data[field]
        if data.get("default_tax_rates"):
            params["default_tax_rates"] = [r.pk for r in data["default_tax_rates"]]
        if data.get("billing_cycle_anchor_day"):
            params["billing_cycle_anchor_config"] = {
                "day_of_month": data["billing_cycle_anchor_day"]
            }
        return params


def parse_major(text: str, currency: str) -> int:
    """Read "100,000.00" (major units) as an integer of minor units."""
    cleaned = text.replace(",", "").replace(" ", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError("Enter an amount such as 100,000.00.") from None
    minor = value.scaleb(currency_exponent(currency))
    if minor != minor.to_integral_value():
        raise ValidationError("Too many decimal places for this currency.")
    return int(minor)


class InvoiceForm(forms.Form):
    """Create invoice: customer, currency, terms, line items (seed 003)."""

    customer = CustomerChoiceField(queryset=_customers())
    currency = forms.ChoiceField(choices=CURRENCIES, initial="usd")
    collection_method = forms.ChoiceField(
        choices=[
            ("send_invoice", "Email invoice to the customer"),
            ("charge_automatically", "Charge automatically"),
        ],
        initial="send_invoice",
    )
    days_until_due = forms.IntegerField(
        required=False, min_value=0, max_value=730, initial=30
    )
    description = forms.CharField(
        required=False, max_length=1500, widget=forms.Textarea(attrs={"rows": 2})
    )
    footer = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    include_pending = forms.BooleanField(
        required=False, label="Add the customer's pending invoice items"
    )
    default_tax_rates = _tax_rates_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index in range(LINE_ROWS):
            row = index + 1
            self.fields[f"item_{index}"] = forms.CharField(
                required=False,
                max_length=500,
                label="Item",
                widget=forms.TextInput(attrs={"aria-label": f"Item {row}"}),
            )
            self.fields[f"price_{index}"] = forms.CharField(
                required=False,
                max_length=40,
                label="Price",
                widget=forms.TextInput(
                    attrs={"aria-label": f"Unit price of item {row}"}
                ),
            )
            self.fields[f"quantity_{index}"] = forms.IntegerField(
                required=False,
                min_value=1,
                max_value=10**9,
                label="Qty",
                widget=forms.NumberInput(
                    attrs={"aria-label": f"Quantity of item {row}"}
                ),
            )

    def line_rows(self):
        return [
            (self[f"item_{index}"], self[f"price_{index}"], self[f"quantity_{index}"])
            for index in range(LINE_ROWS)
        ]

    def clean(self):
        data = super().clean()
        currency = data.get("currency") or "usd"
        lines = []
        for index in range(LINE_ROWS):
            text = (data.get(f"item_{index}") or "").strip()
            price = (data.get(f"price_{index}") or "").strip()
            if not text and not price:
                continue
            if not text:
                self.add_error(f"item_{index}", "Name the item.")
                continue
            try:
                amount = parse_major(price, currency)
            except ValidationError as error:
                self.add_error(f"price_{index}", error)
                continue
            lines.append(
                {
                    "description": text,
                    "amount": amount,
                    "quantity": data.get(f"quantity_{index}") or 1,
                }
            )
        if not lines and not data.get("include_pending"):
            raise ValidationError("Add at least one line item.")
        data["lines"] = lines
        return data

    def invoice_params(self) -> dict:
        data = self.cleaned_data
        params = {
            "currency": data["currency"],
            "collection_method": data["collection_method"],
            "auto_advance": False,
        }
        if data["collection_method"] == "send_invoice":
            params["days_until_due"] = data.get("days_until_due") or 30
        for field in ("description", "footer"):
            if data.get(field):
                params[field] = data[field]
        if data.get("include_pending"):
            params["pending_invoice_items_behavior"] = "include"
        if data.get("default_tax_rates"):
            params["default_tax_rates"] = [r.pk for r in data["default_tax_rates"]]
        return params

    def item_params(self) -> list[dict]:
        """Invoice items: unit price (minor units) × quantity, one per line."""
        currency = self.cleaned_data["currency"]
        return [
            {
                "unit_amount_decimal": Decimal(line["amount"]),
                "quantity": line["quantity"],
                "currency": currency,
                "description": line["description"],
            }
            for line in self.cleaned_data["lines"]
        ]


class CancelForm(forms.Form):
    # Nothing chosen at first: the red Apply does nothing until staff pick a way.
    when = forms.ChoiceField(
        choices=[
            ("", "Cancel or keep the subscription…"),
            ("now", "Cancel now"),
            ("period_end", "Cancel at the end of the period"),
            ("keep", "Keep (undo a scheduled cancellation)"),
        ]
    )
    invoice_now = forms.BooleanField(required=False)
    prorate = forms.BooleanField(required=False)


class ThresholdForm(forms.Form):
    """Set, change or remove ``billing_thresholds.amount_gte`` (in the currency)."""

    amount_gte = forms.DecimalField(
        label="Invoice when usage reaches",
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        max_digits=14,
        help_text="Usage since the period start, after credits (credits are "
        "subtracted first). Empty removes the threshold.",
    )
    reset_billing_cycle_anchor = forms.BooleanField(
        required=False, label="Start a new billing period at the threshold"
    )

    def to_params(self, currency: str) -> dict:
        """Stripe's ``billing_thresholds`` param; ValidationError for sub-cents."""
        amount = self.cleaned_data["amount_gte"]
        if amount is None:
            return {"billing_thresholds": None}
        return {
            "billing_thresholds": {
                "amount_gte": parse_major(str(amount), currency),
                "reset_billing_cycle_anchor": self.cleaned_data[
                    "reset_billing_cycle_anchor"
                ],
            }
        }

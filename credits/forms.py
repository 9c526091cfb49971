"""The dashboard's "New credit grant" form (seed 003): amounts in major units."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from django import forms

from catalog.models import Price
from core.errors import TallyError
from core.form_fields import CustomerField
from core.models import Customer
from core.money import currency_exponent
from credits.models import CreditGrant
from credits.services.grants import MAX_SCOPE_PRICES, PRICES_PARAM

# Service ``param`` → the form field that shows the error.
_FIELD_OF_PARAM = {
    "customer": "customer",
    "amount[monetary][value]": "amount",
    "amount[monetary][currency]": "currency",
    "expires_at": "expires_on",
    "priority": "priority",
    "category": "category",
}


class CreditGrantForm(forms.Form):
    customer = CustomerField(
        queryset=Customer.objects.filter(deleted=False).order_by("name", "pk")
    )
    name = forms.CharField(
        max_length=100,
        required=False,
        help_text="Shown on the dashboard, e.g. “Hypernian credits 2026”.",
    )
    amount = forms.DecimalField(
        min_value=Decimal("0.001"),
        max_digits=15,
        decimal_places=3,
        help_text="In the currency's major unit: 120000 is 120,000.00 USD.",
    )
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        initial="usd",
        max_length=3,
        error_messages={"invalid": "Use a three-letter ISO code such as usd."},
    )
    expiry = forms.ChoiceField(
        label="Expiry date",
        choices=[("never", "Never expires"), ("date", "Specific date")],
        initial="never",
        widget=forms.RadioSelect,
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The credits expire at 00:00 UTC on this day.",
    )
    category = forms.ChoiceField(
        choices=CreditGrant.Category.choices,
        initial=CreditGrant.Category.PAID,
        help_text="For your tracking only; customers do not see it.",
    )
    priority = forms.IntegerField(
        min_value=0,
        max_value=100,
        initial=50,
        help_text="0 is applied first, 100 last.",
    )
    scope = forms.ChoiceField(
        label="Applies to",
        choices=[("metered", "All metered prices"), ("prices", "Specific prices")],
        initial="metered",
        widget=forms.RadioSelect,
    )
    prices = forms.ModelMultipleChoiceField(
        queryset=Price.objects.filter(
            active=True, recurring_usage_type=Price.UsageType.METERED
        )
        .select_related("product")
        .order_by("product__name", "pk"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"Up to {MAX_SCOPE_PRICES} metered prices in the grant's currency.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prices"].label_from_instance = _price_label

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("expiry") == "date" and not data.get("expires_on"):
            self.add_error("expires_on", "Choose the day the credits expire.")
        if data.get("scope") == "prices" and not data.get("prices"):
            self.add_error("prices", "Choose at least one price.")
        amount, currency = data.get("amount"), data.get("currency")
        if amount is not None and currency:
            minor = amount.scaleb(currency_exponent(currency))
            if minor != minor.to_integral_value():
                self.add_error(
                    "amount",
                    f"{currency.upper()} has {currency_exponent(currency)} decimal "
                    "places.",
                )
        return data

    def grant_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``credit_grant_create`` (without ``now``)."""
        data = self.cleaned_data
        expires_at = None
        if data["expiry"] == "date":
            expires_at = datetime.combine(data["expires_on"], time(0), tzinfo=UTC)
        prices = None
        if data["scope"] == "prices":
            prices = [price.pk for price in data["prices"]]
        return {
            "customer": data["customer"],
            "name": data["name"] or None,
            "value": int(data["amount"].scaleb(currency_exponent(data["currency"]))),
            "currency": data["currency"],
            "expires_at": expires_at,
            "category": data["category"],
            "priority": data["priority"],
            "prices": prices,
        }

    def add_service_error(self, error: TallyError) -> None:
        """Show a service's refusal next to the field its ``param`` names."""
        param = error.param or ""
        field = _FIELD_OF_PARAM.get(param)
        if field is None and param.startswith(PRICES_PARAM):
            field = "prices"
        self.add_error(field, error.message)


def _price_label(price: Price) -> str:
    label = price.nickname or price.product.name
    return f"{label} · {price.currency.upper()} · {price.pk}"

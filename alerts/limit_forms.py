"""The dashboard's usage-limit forms: create (every term) and edit (the level)."""

from __future__ import annotations

from typing import Any

from django import forms

from alerts.models import UsageLimit
from alerts.services.usage_limits import MAX_LEVEL
from catalog.models import Feature, Price
from core.errors import TallyError
from core.form_fields import CustomerField
from core.models import Customer
from metering.models import Meter

# Service ``param`` → the form field that shows the error.
_FIELD_OF_PARAM = {
    "customer": "customer",
    "price": "price",
    "feature": "feature",
    "usage[meter]": "meter",
    "usage[gte]": "gte",
    "monetary[currency]": "currency",
    "monetary[amount_gte]": "amount_gte",
}


class UsageLimitForm(forms.Form):
    customer = CustomerField(
        queryset=Customer.objects.filter(deleted=False).order_by("name", "pk"),
        required=False,
        help_text="The customer the limit applies to; or choose a price.",
    )
    price = forms.ModelChoiceField(
        queryset=Price.objects.filter(
            active=True, recurring_usage_type=Price.UsageType.METERED
        ).order_by("product__name", "pk"),
        required=False,
        help_text="Every subscriber of this metered price, each on their own.",
    )
    feature = forms.ModelChoiceField(
        queryset=Feature.objects.filter(active=True).order_by("lookup_key"),
        help_text="The feature turned off when the limit is reached.",
    )
    limit_type = forms.ChoiceField(
        choices=UsageLimit.LimitType.choices, label="Limit on"
    )
    meter = forms.ModelChoiceField(
        queryset=Meter.objects.filter(status=Meter.Status.ACTIVE).order_by(
            "display_name", "pk"
        ),
        required=False,
        help_text=(
            "Usage limits: any meter but a last-value one (a price's own by default)."
        ),
    )
    gte = forms.IntegerField(
        label="Units per period", min_value=1, max_value=MAX_LEVEL, required=False
    )
    currency = forms.CharField(max_length=3, required=False, initial="usd")
    amount_gte = forms.IntegerField(
        label="Spend per period (minor units)",
        min_value=1,
        max_value=MAX_LEVEL,
        required=False,
        help_text="Metered spend after credits, e.g. 5000 for 50.00.",
    )

    def limit_params(self) -> dict[str, Any]:
        """Parameters for ``usage_limit_create``, as the API passes them."""
        data = self.cleaned_data
        params: dict[str, Any] = {
            "limit_type": data["limit_type"],
            "feature": data["feature"].pk,
        }
        if data["customer"]:
            params["customer"] = data["customer"].pk
        if data["price"]:
            params["price"] = data["price"].pk
        if data["limit_type"] == UsageLimit.LimitType.USAGE:
            params["usage"] = {
                "meter": data["meter"].pk if data["meter"] else None,
                "gte": data["gte"],
            }
        else:
            params["monetary"] = {
                "currency": data["currency"],
                "amount_gte": data["amount_gte"],
            }
        return params

    def add_service_error(self, error: TallyError) -> None:
        self.add_error(_FIELD_OF_PARAM.get(error.param or ""), error.message)


class UsageLimitLevelForm(forms.Form):
    level = forms.IntegerField(
        label="New level",
        min_value=1,
        max_value=MAX_LEVEL,
        help_text="Units, or minor units of spend; raising it restores access.",
    )

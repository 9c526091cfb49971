"""Dashboard forms: a product, a price with its pricing model and tier table.

Staff type amounts in major units ("0.001" USD); they become minor units (0.1 cent)
exactly, with ``Decimal``. The forms check shapes; ``catalog.services`` checks the
rules, and its errors are shown on the field they name.
"""

from __future__ import annotations

import re

from django import forms

from catalog.form_fields import (
    BILLING_PERIODS,
    CURRENCIES,
    PRICING_MODEL_HELP,
    PRICING_MODELS,
    MajorAmountField,
    amount_input,
    minor_places,
    to_minor,
)
from catalog.services.rows import meter_model
from catalog.services.terms import MAX_QUANTITY, MAX_TIERS
from core.errors import TallyError
from core.money import MAX_UNIT_DECIMAL_PLACES, currency_exponent


class ProductForm(forms.Form):
    name = forms.CharField(max_length=250)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to customers on invoices and their usage page.",
    )
    unit_label = forms.CharField(
        required=False,
        max_length=12,
        help_text="What a unit is called, e.g. token or seat (12 characters).",
    )

    def to_params(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"] or None,
            "unit_label": data["unit_label"] or None,
        }


class PriceForm(forms.Form):
    """One price, in the dashboard's terms (pricing model, billing period...)."""

    pricing_model = forms.ChoiceField(
        choices=PRICING_MODELS, initial="flat_rate", widget=forms.RadioSelect
    )
    currency = forms.ChoiceField(choices=CURRENCIES, initial="usd")
    amount = MajorAmountField(
        required=False,
        widget=amount_input("0.00"),
        help_text="In major units, e.g. 200 or 0.001 (USD).",
    )
    package_size = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_QUANTITY, label="Units per package"
    )
    package_round = forms.ChoiceField(
        choices=[
            ("up", "Round up: a started package is billed"),
            ("down", "Round down: only full packages are billed"),
        ],
        initial="up",
        label="Rounding",
    )
    billing_period = forms.ChoiceField(choices=BILLING_PERIODS, initial="month")
    interval_count = forms.IntegerField(
        min_value=1, initial=1, label="Every", help_text="Number of periods."
    )
    usage_type = forms.ChoiceField(
        choices=[
            ("licensed", "Licensed: billed in advance for a quantity"),
            ("metered", "Metered: billed in arrears for the usage a meter counts"),
        ],
        initial="licensed",
        widget=forms.RadioSelect,
        label="Usage",
    )
    meter = forms.ModelChoiceField(
        queryset=meter_model()._default_manager.none(),
        required=False,
        empty_label="Choose an active meter",
    )
    segment = forms.CharField(
        required=False,
        max_length=500,
        label="Segment",
        help_text="Optional: bill only the meter's events with these dimension "
        "values, e.g. model=large (several: model=large, region=eu).",
    )
    nickname = forms.CharField(
        required=False, max_length=250, help_text="Internal name, e.g. Overage."
    )
    lookup_key = forms.CharField(
        required=False,
        max_length=200,
        help_text="Optional key to find the price from code.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        meters = meter_model()._default_manager.filter(status="active")
        self.fields["meter"].queryset = meters.order_by("display_name")
        self.fields["meter"].label_from_instance = _meter_label

    def pricing_model_options(self) -> list[dict]:
        """The model choices with their explanations, for the model picker."""
        chosen = str(self["pricing_model"].value() or "")
        return [
            {
                "value": value,
                "label": label,
                "help": PRICING_MODEL_HELP[value],
                "checked": value == chosen,
                "id": f"{self['pricing_model'].auto_id}_{index}",
            }
            for index, (value, label) in enumerate(PRICING_MODELS)
        ]

    @property
    def is_tiered(self) -> bool:
        return self.cleaned_data.get("pricing_model") in ("graduated", "volume")

    def clean_segment(self) -> list[dict]:
        """``key=value`` pairs, comma-separated, as segment conditions."""
        conditions = []
        for part in filter(
            None, (p.strip() for p in self.cleaned_data["segment"].split(","))
        ):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError("Write each condition as key=value.")
            conditions.append({"dimension": key.strip(), "value": value.strip()})
        return conditions

    def clean(self):
        data = super().clean()
        model = data.get("pricing_model")
        recurring = data.get("billing_period") not in (None, "one_time")
        if model in ("flat_rate", "per_unit", "package") and data.get("amount") is None:
            self.add_error("amount", "Enter the amount.")
        if model == "package" and not data.get("package_size"):
            self.add_error("package_size", "Enter how many units a package holds.")
        if data.get("usage_type") == "metered":
            if not recurring:
                self.add_error(
                    "usage_type", "Metered prices need a recurring billing period."
                )
            if model == "flat_rate":
                self.add_error(
                    "usage_type", "A flat rate is licensed; choose per unit for usage."
                )
            if not data.get("meter"):
                self.add_error("meter", "Choose the meter that counts the usage.")
        return data

    def params(self, tiers: list[dict]) -> dict:
        """Return the price in the API's parameters (``unit_amount_decimal``...)."""
        data = self.cleaned_data
        currency, model = data["currency"], data["pricing_model"]
        params: dict = {"currency": currency}
        if self.is_tiered:
            params.update(billing_scheme="tiered", tiers_mode=model, tiers=tiers)
        else:
            params["unit_amount_decimal"] = to_minor(data["amount"], currency)
        if model == "package":
            params["transform_quantity"] = {
                "divide_by": data["package_size"],
                "round": data["package_round"],
            }
        if data["billing_period"] != "one_time":
            params["recurring"] = {
                "interval": data["billing_period"],
                "interval_count": data["interval_count"],
                "usage_type": data["usage_type"],
            }
            if data["usage_type"] == "metered":
                params["recurring"]["meter"] = data["meter"].pk
                if data.get("segment"):
                    params["recurring"]["meter_segment_conditions"] = data["segment"]
        for key in ("nickname", "lookup_key"):
            if data[key]:
                params[key] = data[key]
        return params


def _meter_label(meter) -> str:
    return f"{meter.display_name} ({meter.event_name})"


class TierForm(forms.Form):
    """A row of the tier table; an empty "last unit" means ∞ (the last tier)."""

    up_to = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_QUANTITY,
        label="Last unit",
        widget=forms.NumberInput(
            attrs={
                "placeholder": "∞",
                "class": "vIntegerField",
                "aria-label": "Last unit of the tier",
            }
        ),
    )
    unit_amount = MajorAmountField(
        required=False,
        label="Per unit",
        widget=amount_input("0.00", label="Per unit price of the tier"),
    )
    flat_amount = MajorAmountField(
        required=False,
        label="Flat fee",
        widget=amount_input("0.00", label="Flat fee of the tier"),
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return all(data.get(name) in (None, "") for name in self.fields)


TierFormSet = forms.formset_factory(
    TierForm, extra=0, min_num=1, max_num=MAX_TIERS, validate_max=True
)


class PriceEditor:
    """A price form with its tier table, validated and converted together."""

    def __init__(self, data=None, *, prefix: str = "price") -> None:
        self.form = PriceForm(data, prefix=prefix)
        initial = None if data is not None else [{}, {}]
        self.tiers = TierFormSet(data, prefix=f"{prefix}-tiers", initial=initial)
        self._tier_forms: list[TierForm] = []
        self._params: dict | None = None

    def is_valid(self) -> bool:
        form_valid, tiers_valid = self.form.is_valid(), self.tiers.is_valid()
        if not form_valid:
            return False
        if not self.form.is_tiered:
            return self._convert([])
        if not tiers_valid:
            return False
        self._tier_forms = [form for form in self.tiers if not form.is_blank()]
        if not self._tier_forms:
            self.tiers.non_form_errors().append("Add at least one tier.")
            return False
        return self._check_tier_table() and self._convert(self._tier_forms)

    def _check_tier_table(self) -> bool:
        """Say in the table's own words what the service would refuse."""
        ok, previous, forms_ = True, 0, self._tier_forms
        for index, form in enumerate(forms_):
            data, last = form.cleaned_data, index == len(forms_) - 1
            up_to = data.get("up_to")
            if last and up_to is not None:
                form.add_error("up_to", "Leave the last tier's last unit empty (∞).")
            elif not last and up_to is None:
                form.add_error("up_to", "Enter the last unit; only the last tier is ∞.")
            elif up_to is not None and up_to <= previous:
                form.add_error(
                    "up_to", f"Must be above the tier before ({previous:,})."
                )
            if data.get("unit_amount") is None and data.get("flat_amount") is None:
                form.add_error(None, "Enter a per-unit amount, a flat fee, or both.")
            ok = ok and not form.errors
            previous = up_to or previous
        return ok

    def _convert(self, tier_forms: list[TierForm]) -> bool:
        """Convert amounts to minor units; refuse more than 12 places of a cent."""
        currency, ok = self.form.cleaned_data["currency"], True
        fields = [(self.form, "amount")] + [
            (form, name)
            for form in tier_forms
            for name in ("unit_amount", "flat_amount")
        ]
        for form, name in fields:
            value = form.cleaned_data.get(name)
            if value is not None and minor_places(to_minor(value, currency)) > 12:
                form.add_error(name, _too_precise(currency))
                ok = False
        if ok:
            self._params = self.form.params(
                [_tier_params(f, currency) for f in tier_forms]
            )
        return ok

    def params(self) -> dict:
        assert self._params is not None, "call is_valid() first"
        return self._params

    def add_service_error(self, error: TallyError) -> None:
        """Show a service error on the field its ``param`` names."""
        param = error.param or ""
        match = re.match(r"^tiers\[(\d+)\](?:\[(\w+)\])?", param)
        if match and int(match.group(1)) < len(self._tier_forms):
            form = self._tier_forms[int(match.group(1))]
            name = _TIER_FIELDS.get(match.group(2) or "", None)
            form.add_error(name, error.message)
            return
        if param.startswith("recurring[meter_segment_conditions]"):
            param = "recurring[meter_segment_conditions]"
        self.form.add_error(_PRICE_FIELDS.get(param), error.message)


_PRICE_FIELDS = {
    "unit_amount": "amount",
    "unit_amount_decimal": "amount",
    "currency": "currency",
    "transform_quantity": "package_size",
    "recurring[meter]": "meter",
    "recurring[meter_segment_conditions]": "segment",
    "recurring[interval_count]": "interval_count",
    "recurring[interval]": "billing_period",
    "recurring[usage_type]": "usage_type",
    "nickname": "nickname",
    "lookup_key": "lookup_key",
}
_TIER_FIELDS = {
    "up_to": "up_to",
    "unit_amount": "unit_amount",
    "unit_amount_decimal": "unit_amount",
    "flat_amount": "flat_amount",
    "flat_amount_decimal": "flat_amount",
}


def _too_precise(currency: str) -> str:
    places = MAX_UNIT_DECIMAL_PLACES + currency_exponent(currency)
    return f"At most {places} decimal places in {currency.upper()}."


def _tier_params(form: TierForm, currency: str) -> dict:
    data = form.cleaned_data
    tier: dict = {"up_to": data.get("up_to")}
    for name in ("unit_amount", "flat_amount"):
        if data.get(name) is not None:
            tier[f"{name}_decimal"] = to_minor(data[name], currency)
    return tier


class PriceDetailsForm(forms.Form):
    """What may change on an existing price."""

    nickname = forms.CharField(required=False, max_length=250)
    lookup_key = forms.CharField(required=False, max_length=200)
    transfer_lookup_key = forms.BooleanField(
        required=False, label="Move the lookup key here if another price has it"
    )

    def to_params(self) -> dict:
        data = self.cleaned_data
        return {
            "nickname": data["nickname"] or None,
            "lookup_key": data["lookup_key"] or None,
            "transfer_lookup_key": data["transfer_lookup_key"],
        }


class QuantityForm(forms.Form):
    """The quantity of a price page's worked example."""

    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY)

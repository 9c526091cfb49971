"""The choices and amount fields the catalog's dashboard forms share.

Staff type amounts in major units ("0.001" USD); ``MajorAmountField`` cleans them
to an exact ``Decimal`` and ``to_minor`` makes minor units (0.1 cent) of them.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from core.money import currency_exponent

PRICING_MODELS = [
    ("flat_rate", "Flat rate"),
    ("per_unit", "Per unit"),
    ("package", "Package"),
    ("graduated", "Graduated"),
    ("volume", "Volume"),
]
PRICING_MODEL_HELP = {
    "flat_rate": "One fixed amount each period.",
    "per_unit": "The same amount for every unit or seat.",
    "package": "An amount per package or bundle of units.",
    "graduated": "Each tier's units at that tier's rate.",
    "volume": "All units at the rate of the tier the total falls in.",
}
BILLING_PERIODS = [
    ("one_time", "One time"),
    ("day", "Daily"),
    ("week", "Weekly"),
    ("month", "Monthly"),
    ("year", "Yearly"),
]
CURRENCIES = [
    (code, code.upper())
    for code in (
        "usd eur gbp chf cad aud nzd jpy krw sek nok dkk pln czk inr sgd hkd brl "
        "mxn zar kwd bhd jod omr tnd"
    ).split()
]
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def amount_input(placeholder: str = "", label: str = "") -> forms.TextInput:
    """A decimal amount box; ``label`` names it where no <label> does (a table cell)."""
    attrs = {"inputmode": "decimal", "placeholder": placeholder, "class": "vAmount"}
    if label:
        attrs["aria-label"] = label
    return forms.TextInput(attrs=attrs)


class MajorAmountField(forms.CharField):
    """An amount in major units ("1,250.50"), cleaned to an exact ``Decimal``."""

    def to_python(self, value):
        text = super().to_python(value).replace(",", "").replace(" ", "")
        if not text:
            return None
        if not _NUMBER.match(text):
            raise ValidationError("Enter an amount such as 200 or 0.001.")
        return Decimal(text)


def to_minor(major: Decimal, currency: str) -> Decimal:
    """Convert major units to minor units exactly: 0.001 USD → 0.1 (cents)."""
    return major.scaleb(currency_exponent(currency))


def minor_places(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)

"""Every price shape the API accepts, shared by the API and SDK tests.

``METER`` in a shape is replaced by the id of an active meter.
"""

from __future__ import annotations

import copy

METER = "__meter__"

PRICE_SHAPES: dict[str, dict] = {
    "flat monthly licensed": {
        "unit_amount": 20000,
        "recurring": {"interval": "month"},
    },
    "one time": {"unit_amount": 10_000_000},
    "per unit metered, decimal": {
        "unit_amount_decimal": "3",
        "recurring": {"interval": "month", "usage_type": "metered", "meter": METER},
    },
    "sub-cent per unit": {
        "unit_amount_decimal": "0.1",
        "recurring": {"interval": "month", "usage_type": "metered", "meter": METER},
    },
    "twelve decimal places": {"unit_amount_decimal": "0.000000000001"},
    "package rounded up": {
        "unit_amount": 1000,
        "transform_quantity": {"divide_by": 1000, "round": "up"},
        "recurring": {"interval": "month", "usage_type": "metered", "meter": METER},
    },
    "package rounded down": {
        "unit_amount": 1000,
        "transform_quantity": {"divide_by": 60, "round": "down"},
    },
    "graduated with flat fee": {
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "tiers": [
            {"up_to": 100000, "unit_amount": 0, "flat_amount": 20000},
            {"up_to": "inf", "unit_amount_decimal": "0.1"},
        ],
        "recurring": {"interval": "month", "usage_type": "metered", "meter": METER},
    },
    "volume": {
        "billing_scheme": "tiered",
        "tiers_mode": "volume",
        "tiers": [
            {"up_to": 5, "unit_amount": 700},
            {"up_to": 10, "unit_amount": 650},
            {"up_to": "inf", "unit_amount": 600, "flat_amount_decimal": "0.5"},
        ],
        "recurring": {"interval": "week", "interval_count": 2},
    },
    "zero-decimal currency": {"currency": "jpy", "unit_amount": 500},
    "three-decimal currency": {"currency": "kwd", "unit_amount_decimal": "1250.5"},
    "yearly with trial and extras": {
        "unit_amount": 99900,
        "recurring": {"interval": "year", "interval_count": 3, "trial_period_days": 14},
        "lookup_key": "pro_yearly",
        "nickname": "Pro (3 years)",
        "metadata": {"plan": "pro"},
        "tax_behavior": "exclusive",
    },
}


def shape(name: str, *, meter_id: str, product_id: str) -> dict:
    """Return the create parameters of a named shape for one product and meter."""
    params = copy.deepcopy(PRICE_SHAPES[name])
    params.setdefault("currency", "usd")
    params["product"] = product_id
    if params.get("recurring", {}).get("meter") == METER:
        params["recurring"]["meter"] = meter_id
    return params


def expected_fields(params: dict) -> dict:
    """The response fields a shape determines, in Stripe's output form."""
    recurring = params.get("recurring")
    tiers = params.get("tiers")
    unit_decimal = params.get("unit_amount_decimal")
    if "unit_amount" in params:
        unit_decimal = str(params["unit_amount"])
    whole = unit_decimal is not None and "." not in unit_decimal
    return {
        "object": "price",
        "active": True,
        "currency": params["currency"],
        "product": params["product"],
        "billing_scheme": params.get("billing_scheme", "per_unit"),
        "tiers_mode": params.get("tiers_mode"),
        "type": "recurring" if recurring else "one_time",
        "unit_amount": int(unit_decimal) if whole else None,
        "unit_amount_decimal": unit_decimal,
        "custom_unit_amount": None,
        "transform_quantity": params.get("transform_quantity"),
        "recurring": recurring
        and {
            "interval": recurring["interval"],
            "interval_count": recurring.get("interval_count", 1),
            "meter": recurring.get("meter"),
            "trial_period_days": recurring.get("trial_period_days"),
            "usage_type": recurring.get("usage_type", "licensed"),
        },
        "lookup_key": params.get("lookup_key"),
        "nickname": params.get("nickname"),
        "metadata": params.get("metadata", {}),
        "tax_behavior": params.get("tax_behavior", "unspecified"),
        "tiers": [_tier(tier) for tier in tiers] if tiers else [],
    }


def _amounts(tier: dict, name: str) -> tuple[int | None, str | None]:
    if name in tier:
        return tier[name], str(tier[name])
    exact = tier.get(f"{name}_decimal")
    if exact is None:
        return None, None
    return (int(exact) if "." not in exact else None), exact


def _tier(tier: dict) -> dict:
    unit, unit_decimal = _amounts(tier, "unit_amount")
    flat, flat_decimal = _amounts(tier, "flat_amount")
    return {
        "flat_amount": flat,
        "flat_amount_decimal": flat_decimal,
        "unit_amount": unit,
        "unit_amount_decimal": unit_decimal,
        "up_to": None if tier["up_to"] == "inf" else tier["up_to"],
    }


# (parameters to change from a valid per-unit price, expected param, expected code)
INVALID_PRICES: list[tuple[str, dict, str]] = [
    (
        "metered without meter",
        {"recurring": {"interval": "month", "usage_type": "metered"}},
        "recurring[meter]",
    ),
    (
        "tiers without tiers_mode",
        {
            "unit_amount": None,
            "billing_scheme": "tiered",
            "tiers": [{"up_to": "inf", "unit_amount": 5}],
        },
        "tiers_mode",
    ),
    (
        "tiers not ending in inf",
        {
            "unit_amount": None,
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 10, "unit_amount": 5}, {"up_to": 20, "unit_amount": 4}],
        },
        "tiers[1][up_to]",
    ),
    (
        "both unit_amount and unit_amount_decimal",
        {"unit_amount": 5, "unit_amount_decimal": "5.5"},
        "unit_amount",
    ),
    (
        "transform_quantity with tiers",
        {
            "unit_amount": None,
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [{"up_to": "inf", "unit_amount": 5}],
            "transform_quantity": {"divide_by": 10, "round": "up"},
        },
        "transform_quantity",
    ),
    (
        "13 decimal places",
        {"unit_amount": None, "unit_amount_decimal": "0.0000000000001"},
        "unit_amount_decimal",
    ),
]


def invalid_price(change: dict, *, product_id: str) -> dict:
    params = {"currency": "usd", "product": product_id, "unit_amount": 100}
    params.update(change)
    return {key: value for key, value in params.items() if value is not None}

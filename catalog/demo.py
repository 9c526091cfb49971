"""Demo catalog of the Hypernian example (seeds 001 and 003).

Idempotent: products have fixed ids, so a second run adds nothing. Metered prices
need meters, and ``metering/demo.py`` runs after this module, so any missing meter
is created here (through the price's foreign key: catalog never imports metering).
"""

from __future__ import annotations

from decimal import Decimal

from catalog.models import Feature, Product
from catalog.services import feature_create, product_create, product_feature_create
from catalog.services.rows import meter_model

METERS = {
    "hypernian_api_tokens": "Hypernian API tokens",
    "hypernian_input_tokens": "Hypernian input tokens",
    "hypernian_output_tokens": "Hypernian output tokens",
}


def _monthly(usage_type: str = "licensed", meter: str | None = None) -> dict:
    recurring = {"interval": "month", "interval_count": 1, "usage_type": usage_type}
    if meter:
        recurring["meter"] = meter
    return recurring


def _catalog(meters: dict[str, str]) -> list[tuple[dict, list[dict]]]:
    """(product params, price params) of each demo product; amounts in cents."""
    usd = {"currency": "usd"}
    return [
        (
            {
                "id": "prod_hypernian_pro",
                "name": "Hypernian Pro",
                "description": "200 USD a month including 100,000 tokens, then "
                "0.001 USD per token.",
                "unit_label": "token",
            },
            [
                {
                    **usd,
                    "unit_amount_decimal": Decimal(20000),
                    "recurring": _monthly(),
                    "nickname": "Monthly fee",
                    "lookup_key": "hypernian_pro_monthly",
                },
                {
                    **usd,
                    "billing_scheme": "tiered",
                    "tiers_mode": "graduated",
                    "tiers": [
                        {"up_to": 100_000, "unit_amount_decimal": Decimal(0)},
                        {"up_to": None, "unit_amount_decimal": Decimal("0.1")},
                    ],
                    "recurring": _monthly("metered", meters["hypernian_api_tokens"]),
                    "nickname": "Token overage",
                    "lookup_key": "hypernian_pro_overage",
                },
            ],
        ),
        _token_product("input", Decimal(3), meters["hypernian_input_tokens"]),
        _token_product("output", Decimal(5), meters["hypernian_output_tokens"]),
        (
            {"id": "prod_hypernian_credits", "name": "Hypernian Credits"},
            [
                {
                    **usd,
                    "unit_amount_decimal": Decimal(10_000_000),
                    "nickname": "Prepayment",
                    "lookup_key": "hypernian_credits",
                },
            ],
        ),
    ]


def _token_product(kind: str, cents: Decimal, meter: str) -> tuple[dict, list[dict]]:
    return (
        {
            "id": f"prod_hypernian_{kind}_tokens",
            "name": f"Hypernian {kind} tokens",
            "unit_label": "token",
        },
        [
            {
                "currency": "usd",
                "unit_amount_decimal": cents,
                "recurring": _monthly("metered", meter),
                "lookup_key": f"hypernian_{kind}_tokens",
            }
        ],
    )


def _meter_ids() -> dict[str, str]:
    """Return the active meter id per demo event name, creating missing meters."""
    manager = meter_model()._default_manager
    ids = {}
    for event_name, display_name in METERS.items():
        meter = manager.filter(event_name=event_name, status="active").first()
        if meter is None:
            meter = manager.create(
                display_name=display_name,
                event_name=event_name,
                formula="sum",
                status="active",
            )
        ids[event_name] = meter.pk
    return ids


# The feature Hypernian Pro entitles to, which a usage limit can turn off.
FEATURE = {"name": "Hypernian API access", "lookup_key": "hypernian_api"}


def _feature(stdout) -> None:
    if Feature.objects.filter(lookup_key=FEATURE["lookup_key"]).exists():
        return
    feature = feature_create(**FEATURE, metadata=None, livemode=False)
    product = Product.objects.filter(pk="prod_hypernian_pro").first()
    if product is not None:
        product_feature_create(product=product, feature_id=feature.pk, livemode=False)
    stdout.write(f"  feature {feature.lookup_key} on Hypernian Pro")


def load(*, stdout) -> None:
    meters = _meter_ids()
    for params, prices in _catalog(meters):
        if Product.objects.filter(pk=params["id"]).exists():
            continue
        product_create(params=params, prices=prices)
        stdout.write(f"  product {params['name']} ({len(prices)} price(s))")
    _feature(stdout)

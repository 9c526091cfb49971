"""Short descriptions of prices for staff pages (summaries, billing periods)."""

from __future__ import annotations

from catalog.models import Price
from core.money import format_minor

_PER = {"day": "day", "week": "week", "month": "month", "year": "year"}
_EVERY = {"day": "Daily", "week": "Weekly", "month": "Monthly", "year": "Yearly"}


def billing_period(price: Price) -> str:
    """Return "One time", "Monthly" or "Every 3 months"."""
    if price.type == Price.Type.ONE_TIME:
        return "One time"
    count, interval = price.recurring_interval_count or 1, price.recurring_interval
    if count == 1:
        return _EVERY[interval]
    return f"Every {count} {interval}s"


def _per_period(price: Price) -> str:
    if price.type == Price.Type.ONE_TIME:
        return ""
    count, interval = price.recurring_interval_count or 1, price.recurring_interval
    return f" / {_PER[interval]}" if count == 1 else f" / {count} {interval}s"


def per_period(price: Price) -> str:
    """Return " per month", " every 3 months", or "" for a one-time price."""
    if price.type == Price.Type.ONE_TIME:
        return ""
    count, interval = price.recurring_interval_count or 1, price.recurring_interval
    return f" per {interval}" if count == 1 else f" every {count} {interval}s"


def pricing_model(price: Price) -> str:
    """Return the dashboard's name of the model: flat rate, per unit, package..."""
    if price.billing_scheme == Price.BillingScheme.TIERED:
        return (
            "Graduated" if price.tiers_mode == Price.TiersMode.GRADUATED else "Volume"
        )
    if price.transform_quantity_divide_by:
        return "Package"
    if price.recurring_usage_type == Price.UsageType.METERED:
        return "Per unit"
    return "Flat rate"


def price_summary(price: Price) -> str:
    """Return e.g. "$200.00 / month", "$0.001 per unit / month · metered"."""
    metered = " · metered" if price.is_metered else ""
    if price.recurring_meter_segment_conditions:
        metered += " · " + ", ".join(
            f"{c['dimension']}={c['value']}"
            for c in price.recurring_meter_segment_conditions
        )
    if price.billing_scheme == Price.BillingScheme.TIERED:
        count = len(price.tiers.all())
        text = f"{pricing_model(price)}, {count} tier{'s' if count != 1 else ''}"
        return f"{text}{_per_period(price)}{metered}"
    amount = format_minor(price.unit_amount_decimal, price.currency)
    if price.transform_quantity_divide_by:
        amount += f" per {price.transform_quantity_divide_by:,} units"
    elif price.is_metered:
        amount += " per unit"
    return f"{amount}{_per_period(price)}{metered}"


def tier_rows(price: Price) -> list[dict]:
    """Rows of a price's tier table: number, first and last unit, amounts.

    The first tier starts at unit 0, as in Stripe's dashboard (a quantity of 0
    falls in it); each later tier starts one unit after the previous tier ends.
    """
    rows, previous = [], None
    for number, tier in enumerate(price.tiers.all(), start=1):
        rows.append(
            {
                "number": number,
                "first_unit": "0" if previous is None else f"{previous + 1:,}",
                "last_unit": "∞" if tier.up_to is None else f"{tier.up_to:,}",
                "unit_amount": format_minor(
                    tier.unit_amount_decimal or 0, price.currency
                ),
                "flat_amount": format_minor(
                    tier.flat_amount_decimal or 0, price.currency
                ),
            }
        )
        previous = tier.up_to
    return rows

"""Domain checks of subscription parameters shared by create, update and items.

Each refusal is a Stripe-style 400 naming the parameter (``items[1][price]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing import amounts
from billing.compose.rows import spec_of
from billing.taxes.rates import tax_rates_resolve
from catalog.models import Price
from catalog.selectors import prices_with_tiers
from core.errors import InvalidRequest, ResourceMissing
from metering.dimensions import segment_of, segments_overlap

MAX_ITEMS = 20


@dataclass
class ItemSpec:
    """One requested item: its price and, for licensed prices, a quantity."""

    price: Price
    quantity: int | None
    usage_gte: int | None
    metadata: dict
    param: str  # e.g. "items[0]"
    tax_rates: list[str] = field(default_factory=list)


def load_price(price_id: str, *, param: str) -> Price:
    price = (
        prices_with_tiers()
        .select_related("product", "recurring_meter")
        .filter(pk=price_id)
        .first()
    )
    if price is None:
        raise ResourceMissing.for_id("price", price_id, param=param)
    return price


def check_price(price: Price, *, param: str) -> None:
    """A subscription price: active and recurring."""
    if not price.active:
        raise InvalidRequest(
            f"The price specified is inactive. This field only accepts active "
            f"prices. ({price.pk})",
            param=param,
        )
    if price.type != Price.Type.RECURRING:
        raise InvalidRequest(
            f"The price specified is set to `type=one_time` but this field only "
            f"accepts prices with `type=recurring`. ({price.pk})",
            param=param,
        )


def item_spec(entry: dict[str, Any], *, param: str, price: Price) -> ItemSpec:
    """Check one item's quantity and usage threshold against its price."""
    quantity = entry.get("quantity")
    if price.is_metered:
        if quantity is not None:
            raise InvalidRequest(
                "Quantity should not be specified where usage_type is `metered`. "
                "Remove quantity from the item.",
                param=f"{param}[quantity]",
            )
    elif quantity is None:
        quantity = 1
    thresholds = entry.get("billing_thresholds") or {}
    usage_gte = thresholds.get("usage_gte")
    if usage_gte is not None and not price.is_metered:
        raise InvalidRequest(
            "Usage thresholds (billing_thresholds.usage_gte) apply only to metered "
            "prices.",
            param=f"{param}[billing_thresholds][usage_gte]",
        )
    return ItemSpec(
        price=price,
        quantity=quantity,
        usage_gte=usage_gte,
        metadata=entry.get("metadata") or {},
        param=param,
        tax_rates=tax_rates_resolve(
            entry.get("tax_rates"), param=f"{param}[tax_rates]"
        ),
    )


def check_compatible(specs: Sequence[ItemSpec], *, currency: str, interval) -> None:
    """All prices share the currency and the billing interval; no price twice."""
    seen: set[str] = set()
    for spec in specs:
        price = spec.price
        if price.pk in seen:
            raise InvalidRequest(
                f"The price {price.pk} is on the subscription more than once; "
                "use quantity instead.",
                param=f"{spec.param}[price]",
            )
        seen.add(price.pk)
        if price.currency != currency:
            raise InvalidRequest(
                f"All prices on a subscription must have the same currency "
                f"({currency}); {price.pk} is in {price.currency}.",
                param=f"{spec.param}[price]",
            )
        if (price.recurring_interval, price.recurring_interval_count) != interval:
            raise InvalidRequest(
                "All prices on a subscription must have the same billing interval "
                f"({interval[1]} {interval[0]}); {price.pk} bills every "
                f"{price.recurring_interval_count} {price.recurring_interval}.",
                param=f"{spec.param}[price]",
            )
    if len(specs) > MAX_ITEMS:
        raise InvalidRequest(
            f"A subscription can have at most {MAX_ITEMS} items.", param="items"
        )
    _check_segments(specs)


def _check_segments(specs: Sequence[ItemSpec]) -> None:
    """Prices on segments of one meter must not overlap: an event in both would
    be billed twice. (Two prices on a whole meter are left as they were.)"""
    metered = [spec for spec in specs if spec.price.is_metered]
    for index, spec in enumerate(metered):
        mine = segment_of(spec.price.recurring_meter_segment_conditions)
        for other in metered[:index]:
            theirs = segment_of(other.price.recurring_meter_segment_conditions)
            if (
                other.price.recurring_meter_id == spec.price.recurring_meter_id
                and (mine is not None or theirs is not None)
                and segments_overlap(mine, theirs)
            ):
                raise InvalidRequest(
                    f"The prices {other.price.pk} and {spec.price.pk} bill "
                    f"overlapping segments of the meter "
                    f"{spec.price.recurring_meter_id}: an event in both would be "
                    "billed twice.",
                    param=f"{spec.param}[price]",
                )


def check_thresholds(
    thresholds: dict[str, Any] | None, specs: Sequence[ItemSpec]
) -> None:
    """``amount_gte`` must exceed the licensed prices; no per-package prices."""
    if not thresholds:
        return
    licensed = sum(
        (
            amounts.licensed_amount(spec_of(spec.price), spec.quantity or 0).exact
            for spec in specs
            if not spec.price.is_metered
        ),
        Decimal(0),
    )
    if Decimal(thresholds["amount_gte"]) <= licensed:
        raise InvalidRequest(
            "billing_thresholds.amount_gte must be greater than the sum of the "
            f"subscription's licensed prices ({licensed.normalize():f} minor units).",
            param="billing_thresholds[amount_gte]",
        )
    for spec in specs:
        if spec.price.transform_quantity_divide_by:
            raise InvalidRequest(
                "Billing thresholds cannot be used with per-package prices "
                f"({spec.price.pk}).",
                param="billing_thresholds",
            )

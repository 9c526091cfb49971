"""The pricing terms of a new price, checked as a whole.

Input serializers (API) and forms (dashboard) check the shape of each parameter; the
rules that tie parameters together live here, so both paths refuse the same prices
with the same message and ``param``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core import money
from core.errors import InvalidRequest

# Largest unit or flat amount, in minor units (a trillion cents is ten billion USD).
MAX_AMOUNT = Decimal(money.MAX_AMOUNT)
# Largest tier bound and package size: meter values carry at most 15 digits.
MAX_QUANTITY = 10**15 - 1
MAX_TIERS = 250
# Stripe caps a billing period at three years.
MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}
MAX_TRIAL_PERIOD_DAYS = 730


@dataclass(frozen=True)
class TierTerms:
    up_to: int | None  # last unit of the tier, inclusive; None = infinity
    unit_amount: Decimal | None  # minor units per unit
    flat_amount: Decimal | None  # minor units once the tier is reached


@dataclass(frozen=True)
class PriceTerms:
    """What a price charges; everything here is immutable once the price exists."""

    currency: str
    billing_scheme: str
    unit_amount: Decimal | None = None
    tiers_mode: str | None = None
    tiers: tuple[TierTerms, ...] = ()
    divide_by: int | None = None
    round: str | None = None
    interval: str | None = None
    interval_count: int | None = None
    usage_type: str | None = None
    meter_id: str | None = None
    trial_period_days: int | None = None
    # (dimension, value) conditions: the segment of the meter the price bills.
    segment: tuple[tuple[str, str], ...] = ()

    @property
    def type(self) -> str:
        return "recurring" if self.interval else "one_time"


def _top(name: str) -> str:
    return name


def _one_amount(
    values: dict[str, Any], name: str, param: Callable[[str], str] = _top
) -> Decimal | None:
    """Return ``name`` or ``name_decimal`` (only one may be given) as a Decimal."""
    whole, exact = values.get(name), values.get(f"{name}_decimal")
    if whole is not None and exact is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: "
            f"{param(name)}, {param(name + '_decimal')}.",
            param=param(name),
        )
    value = Decimal(whole) if whole is not None else exact
    if value is not None and value > MAX_AMOUNT:
        raise InvalidRequest(
            f"Amounts may be at most {MAX_AMOUNT:,} minor units.",
            param=param(name if whole is not None else f"{name}_decimal"),
            code="amount_too_large",
        )
    return value


def _tier_terms(tiers: list[dict[str, Any]]) -> tuple[TierTerms, ...]:
    if len(tiers) > MAX_TIERS:
        raise InvalidRequest(
            f"A price may have at most {MAX_TIERS} tiers.", param="tiers"
        )
    result: list[TierTerms] = []
    previous = 0
    for index, tier in enumerate(tiers):

        def param(name: str, index: int = index) -> str:
            return f"tiers[{index}][{name}]"

        up_to = tier.get("up_to")
        last = index == len(tiers) - 1
        if up_to is None and not last:
            raise InvalidRequest(
                "Only the last tier may have up_to=inf.", param=param("up_to")
            )
        if up_to is not None and last:
            raise InvalidRequest(
                "The last tier must have up_to=inf, so that every quantity has a tier.",
                param=param("up_to"),
            )
        if up_to is not None and up_to <= previous:
            raise InvalidRequest(
                "Tiers must be in ascending order of up_to, each above the one before.",
                param=param("up_to"),
            )
        unit = _one_amount(tier, "unit_amount", param)
        flat = _one_amount(tier, "flat_amount", param)
        if unit is None and flat is None:
            raise InvalidRequest(
                "Each tier needs a unit_amount or a flat_amount (or both).",
                param=f"tiers[{index}]",
                code="parameter_missing",
            )
        result.append(TierTerms(up_to=up_to, unit_amount=unit, flat_amount=flat))
        previous = up_to or previous
    return tuple(result)


def _scheme_terms(params: dict[str, Any]) -> dict[str, Any]:
    """Check unit amount, tiers and package terms against the billing scheme."""
    scheme = params.get("billing_scheme") or "per_unit"
    tiers, tiers_mode = params.get("tiers"), params.get("tiers_mode")
    transform = params.get("transform_quantity")
    if scheme == "per_unit":
        if tiers:
            raise InvalidRequest(
                "Tiers can only be set when billing_scheme is tiered.", param="tiers"
            )
        if tiers_mode:
            raise InvalidRequest(
                "tiers_mode can only be set when billing_scheme is tiered.",
                param="tiers_mode",
            )
        unit_amount = _one_amount(params, "unit_amount")
        if unit_amount is None:
            raise InvalidRequest(
                "Missing required param: unit_amount (or unit_amount_decimal); a "
                "per-unit price needs an amount.",
                param="unit_amount",
                code="parameter_missing",
            )
        terms: dict[str, Any] = {"billing_scheme": scheme, "unit_amount": unit_amount}
        if transform:
            terms["divide_by"] = transform["divide_by"]
            terms["round"] = transform["round"]
        return terms
    for name in ("unit_amount", "unit_amount_decimal"):
        if params.get(name) is not None:
            raise InvalidRequest(
                f"{name} cannot be set on a tiered price; give each tier its amounts.",
                param=name,
            )
    if transform:
        raise InvalidRequest(
            "transform_quantity cannot be combined with tiers.",
            param="transform_quantity",
        )
    if not tiers_mode:
        raise InvalidRequest(
            "Missing required param: tiers_mode (graduated or volume) for a tiered "
            "price.",
            param="tiers_mode",
            code="parameter_missing",
        )
    if not tiers:
        raise InvalidRequest(
            "Missing required param: tiers; a tiered price needs at least one tier.",
            param="tiers",
            code="parameter_missing",
        )
    return {
        "billing_scheme": scheme,
        "tiers_mode": tiers_mode,
        "tiers": _tier_terms(tiers),
    }


def _recurring_terms(recurring: dict[str, Any] | None) -> dict[str, Any]:
    if not recurring:
        return {}
    interval = recurring["interval"]
    count = recurring.get("interval_count") or 1
    if count > MAX_INTERVAL_COUNT[interval]:
        raise InvalidRequest(
            "A billing period may be at most three years "
            f"({MAX_INTERVAL_COUNT[interval]} {interval}s).",
            param="recurring[interval_count]",
        )
    usage_type = recurring.get("usage_type") or "licensed"
    meter_id = recurring.get("meter")
    if usage_type == "metered" and not meter_id:
        raise InvalidRequest(
            "Missing required param: recurring[meter]. A metered price must name the "
            "meter that counts its usage.",
            param="recurring[meter]",
            code="parameter_missing",
        )
    if usage_type == "licensed" and meter_id:
        raise InvalidRequest(
            "A meter can only be set on a metered price "
            "(recurring[usage_type]=metered).",
            param="recurring[meter]",
        )
    return {
        "interval": interval,
        "interval_count": count,
        "usage_type": usage_type,
        "meter_id": meter_id,
        "trial_period_days": recurring.get("trial_period_days"),
        "segment": _segment_terms(
            recurring.get("meter_segment_conditions"), usage_type
        ),
    }


SEGMENT_PARAM = "recurring[meter_segment_conditions]"


def _segment_terms(conditions, usage_type: str) -> tuple[tuple[str, str], ...]:
    """The (dimension, value) conditions of a metered price, one per dimension.

    Whether the meter declares each dimension is checked with the meter
    (``catalog.services.rows``).
    """
    if not conditions:
        return ()
    if usage_type != "metered":
        raise InvalidRequest(
            "Segment conditions can only be set on a metered price "
            "(recurring[usage_type]=metered).",
            param=SEGMENT_PARAM,
        )
    seen: set[str] = set()
    for index, condition in enumerate(conditions):
        if condition["dimension"] in seen:
            raise InvalidRequest(
                f"The dimension '{condition['dimension']}' has two conditions; a "
                "segment names each dimension once.",
                param=f"{SEGMENT_PARAM}[{index}][dimension]",
            )
        seen.add(condition["dimension"])
    return tuple((c["dimension"], c["value"]) for c in conditions)


def price_terms_check(params: dict[str, Any]) -> PriceTerms:
    """Return the terms of a new price, or raise ``InvalidRequest`` naming the param."""
    return PriceTerms(
        currency=params["currency"].lower(),
        **_scheme_terms(params),
        **_recurring_terms(params.get("recurring")),
    )

"""Usage limits: create, update (levels, metadata), activate and deactivate.

Everything is checked before anything is written: an unknown customer, price,
meter or feature (by id or lookup key), a ``last`` meter (its "usage" is one
reading, not a quantity that grows towards a cap), a level of zero
or less, a monetary limit in a currency the customer (or the price) is not
billed in: a 400 naming the parameter. A write then evaluates the customers
concerned at once, so a raise restores access within the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from alerts.access import ENTITLING_STATUSES
from alerts.models import UsageLimit
from alerts.services.limits import limits_evaluate
from billing.models import Subscription
from catalog.models import Feature, Price
from core.errors import InvalidRequest, ResourceMissing
from core.metadata import metadata_merge
from core.models import Customer
from metering.models import Meter

# Levels are stored in 64-bit columns; usage values have at most 15 digits.
MAX_LEVEL = 10**15
# Formulas whose period figure only grows as usage comes (or, for a gauge's value
# x hours, as time passes: the minutely Beat run evaluates it without events).
LIMITABLE_FORMULAS = (
    Meter.Formula.SUM,
    Meter.Formula.COUNT,
    Meter.Formula.MAX,
    Meter.Formula.UNIQUE_COUNT,
    Meter.Formula.TIME_WEIGHTED_SUM,
)


def _missing(what: str, object_id: str, param: str) -> ResourceMissing:
    return ResourceMissing(
        f"No such {what}: '{object_id}'", param=param, http_status=400
    )


def _feature(value: str, livemode: bool) -> Feature:
    rows = Feature.objects.filter(livemode=livemode)
    feature = rows.filter(pk=value).first() or rows.filter(lookup_key=value).first()
    if feature is None:
        raise _missing("feature", value, "feature")
    return feature


def _customer(customer_id: str, livemode: bool) -> Customer:
    customer = Customer.objects.filter(
        pk=customer_id, livemode=livemode, deleted=False
    ).first()
    if customer is None:
        raise _missing("customer", customer_id, "customer")
    return customer


def _price(price_id: str, livemode: bool) -> Price:
    price = (
        Price.objects.filter(pk=price_id, livemode=livemode)
        .select_related("recurring_meter")
        .first()
    )
    if price is None:
        raise _missing("price", price_id, "price")
    return price


def _meter(meter_id: str | None, price: Price | None, livemode: bool) -> Meter:
    if price is not None:
        if not price.is_metered:
            raise InvalidRequest(
                "A usage limit on a price needs a metered price.", param="price"
            )
        if meter_id and meter_id != price.recurring_meter_id:
            raise InvalidRequest(
                f"The price {price.pk} is metered on {price.recurring_meter_id}, "
                f"not {meter_id}.",
                param="usage[meter]",
            )
        meter = price.recurring_meter
    else:
        if not meter_id:
            raise InvalidRequest(
                "usage[meter] is required.",
                param="usage[meter]",
                code="parameter_missing",
            )
        meter = Meter.objects.filter(pk=meter_id, livemode=livemode).first()
        if meter is None:
            raise _missing("billing meter", meter_id, "usage[meter]")
    if meter.status != Meter.Status.ACTIVE:
        raise InvalidRequest(
            f"The meter {meter.pk} is inactive; usage limits need an active meter.",
            param="usage[meter]",
        )
    if meter.formula not in LIMITABLE_FORMULAS:
        raise InvalidRequest(
            f"The meter {meter.pk} aggregates with '{meter.formula}'; a usage limit "
            "needs a figure that grows with usage, not a single reading.",
            param="usage[meter]",
        )
    return meter


def _billed_currencies(customer: Customer) -> set[str]:
    """Currencies the customer is billed in: its own and its subscriptions'."""
    found = set(
        Subscription.objects.filter(
            customer=customer, status__in=ENTITLING_STATUSES
        ).values_list("currency", flat=True)
    )
    if customer.currency:
        found.add(customer.currency)
    return found


def _check_currency(currency: str, customer: Customer | None, price: Price | None):
    billed = {price.currency} if price is not None else _billed_currencies(customer)
    if billed and currency not in billed:
        raise InvalidRequest(
            f"The limit's currency ({currency}) must be one the "
            f"{'price' if price else 'customer'} is billed in "
            f"({', '.join(sorted(billed))}).",
            param="monetary[currency]",
        )


def _level(value: int | None, param: str) -> int:
    if value is None:
        raise InvalidRequest(
            f"{param} is required.", param=param, code="parameter_missing"
        )
    if not 0 < value <= MAX_LEVEL:
        raise InvalidRequest(
            f"{param} must be greater than 0 and at most {MAX_LEVEL}.", param=param
        )
    return value


def usage_limit_create(
    *, params: dict[str, Any], livemode: bool, now: datetime
) -> UsageLimit:
    """Create a limit, then evaluate its customers (it may be reached already)."""
    if bool(params.get("customer")) == bool(params.get("price")):
        raise InvalidRequest("Pass exactly one of customer or price.", param="customer")
    customer = (
        _customer(params["customer"], livemode) if params.get("customer") else None
    )
    price = _price(params["price"], livemode) if params.get("price") else None
    feature = _feature(params["feature"], livemode)
    limit = UsageLimit(
        limit_type=params["limit_type"],
        customer=customer,
        price=price,
        feature=feature,
        livemode=livemode,
        test_clock_id=customer.test_clock_id if customer else None,
        metadata=metadata_merge({}, params.get("metadata") or {}),
        created=now,
        updated=now,
    )
    if limit.limit_type == UsageLimit.LimitType.USAGE:
        usage = params.get("usage") or {}
        limit.meter = _meter(usage.get("meter"), price, livemode)
        limit.gte = _level(usage.get("gte"), "usage[gte]")
    else:
        monetary = params.get("monetary") or {}
        currency = (monetary.get("currency") or "").lower()
        if not currency:
            raise InvalidRequest(
                "monetary[currency] is required.",
                param="monetary[currency]",
                code="parameter_missing",
            )
        _check_currency(currency, customer, price)
        limit.currency = currency
        limit.amount_gte = _level(monetary.get("amount_gte"), "monetary[amount_gte]")
    limit.save(force_insert=True)
    usage_limit_apply(limit=limit, now=now)
    return limit


def usage_limit_update(
    *, limit: UsageLimit, params: dict[str, Any], now: datetime
) -> UsageLimit:
    """Change the level or metadata; the customers are evaluated again at once."""
    with transaction.atomic():
        limit = UsageLimit.objects.select_for_update().get(pk=limit.pk)
        usage, monetary = params.get("usage"), params.get("monetary")
        if usage is not None:
            if limit.limit_type != UsageLimit.LimitType.USAGE:
                raise InvalidRequest("This is a monetary limit.", param="usage")
            limit.gte = _level(usage.get("gte"), "usage[gte]")
        if monetary is not None:
            if limit.limit_type != UsageLimit.LimitType.MONETARY:
                raise InvalidRequest("This is a usage limit.", param="monetary")
            limit.amount_gte = _level(
                monetary.get("amount_gte"), "monetary[amount_gte]"
            )
        if "metadata" in params:
            limit.metadata = metadata_merge(limit.metadata, params["metadata"])
        limit.updated = now
        limit.save()
    usage_limit_apply(limit=limit, now=now)
    return limit


def usage_limit_set_status(
    *, limit: UsageLimit, active: bool, now: datetime
) -> UsageLimit:
    """Activate or deactivate a limit; a deactivated one cuts nothing."""
    status = UsageLimit.Status.ACTIVE if active else UsageLimit.Status.INACTIVE
    UsageLimit.objects.filter(pk=limit.pk).update(status=status, updated=now)
    limit.refresh_from_db()
    usage_limit_apply(limit=limit, now=now)
    return limit


def usage_limit_apply(*, limit: UsageLimit, now: datetime) -> int:
    """Evaluate the customers the limit concerns (each on its own clock)."""
    if limit.customer_id is not None:
        customer_ids = [limit.customer_id]
    else:
        customer_ids = list(
            Subscription.objects.filter(
                status__in=ENTITLING_STATUSES, items__price_id=limit.price_id
            )
            .values_list("customer_id", flat=True)
            .distinct()
        )
        customer_ids += list(
            limit.crossings.filter(lifted_at__isnull=True).values_list(
                "customer_id", flat=True
            )
        )
    return limits_evaluate(now=now, customer_ids=set(customer_ids))

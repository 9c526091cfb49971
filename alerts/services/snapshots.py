"""The per-customer access snapshot that the check endpoint reads in one query.

``access_snapshot_write`` rebuilds the check body of one customer: active
features (lookup keys), usage so far this period per metered item's meter with
the usage limits on it and what remains, monetary limits with the spend so far,
and the available credit balance per currency; ``as_of`` is when the figures
were read (the customer's clock). The ETag is a digest of the body.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from alerts.access import LimitPeriod, active_entitlements, limit_value, usage_until
from alerts.models import CustomerAccess, UsageLimit, UsageLimitCrossing
from alerts.services.snapshot_cache import snapshot_forget
from billing.models import SubscriptionItem
from core.api.fields import unix
from core.models import Customer
from credits.selectors import credit_balance_summary
from metering.selectors import meter_usage_for_period


@dataclass(frozen=True)
class Evaluated:
    """A limit's period for the customer and the figure read for it."""

    period: LimitPeriod
    value: Decimal


def _limit_entry(
    evaluated: Evaluated, in_force: dict[str, UsageLimitCrossing]
) -> dict[str, Any]:
    limit = evaluated.period.limit
    entry: dict[str, Any] = {
        "id": limit.pk,
        "feature": limit.feature.lookup_key,
        "crossed": limit.pk in in_force,
        "remaining": max(limit.level - int(evaluated.value), 0),
    }
    if limit.limit_type == UsageLimit.LimitType.USAGE:
        entry["gte"] = limit.gte
    else:
        entry.update(
            currency=limit.currency,
            amount=int(evaluated.value),
            amount_gte=limit.amount_gte,
        )
    return entry


def _usage(
    customer: Customer,
    items: list[SubscriptionItem],
    evaluated: list[Evaluated],
    now: datetime,
) -> list[dict[str, Any]]:
    """Usage so far per meter of the customer's metered items (first item wins).

    A usage limit's figure read for the same meter and period is reused.
    """
    known = {
        (entry.period.limit.meter_id, entry.period.start): entry.value
        for entry in evaluated
        if entry.period.limit.limit_type == UsageLimit.LimitType.USAGE
    }
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        meter = item.price.recurring_meter
        if meter is None or meter.pk in rows:
            continue
        end = usage_until(now, item.current_period_end)
        value = known.get((meter.pk, item.current_period_start))
        if value is None and end > item.current_period_start:
            value = meter_usage_for_period(
                meter=meter,
                customer_id=customer.pk,
                start=item.current_period_start,
                end=end,
            )
        rows[meter.pk] = {
            "meter": meter.pk,
            "event_name": meter.event_name,
            "value": int(value or 0),
            "period": {
                "start": unix(item.current_period_start),
                "end": unix(item.current_period_end),
            },
            "limits": [],
        }
    return list(rows.values())


def access_body(
    *,
    customer: Customer,
    items: list[SubscriptionItem],
    evaluated: list[Evaluated],
    in_force: dict[str, UsageLimitCrossing],
    now: datetime,
) -> dict[str, Any]:
    """The check endpoint's answer for the customer at ``now``."""
    usage = _usage(customer, items, evaluated, now)
    by_meter = {row["meter"]: row for row in usage}
    spend = []
    for entry in evaluated:
        limit = entry.period.limit
        shown = _limit_entry(entry, in_force)
        if limit.limit_type == UsageLimit.LimitType.MONETARY:
            spend.append(shown)
        elif limit.meter_id in by_meter:
            by_meter[limit.meter_id]["limits"].append(shown)
    return {
        "object": "entitlements.check",
        "customer": customer.pk,
        "livemode": customer.livemode,
        "as_of": unix(now),
        "features": [
            row.lookup_key for row in active_entitlements(customer_id=customer.pk)
        ],
        "usage": usage,
        "spend": spend,
        "credits": [
            {"currency": balance.currency, "available": balance.available}
            for balance in credit_balance_summary(customer_id=customer.pk, now=now)
        ],
    }


def etag_of(body: dict[str, Any]) -> str:
    """A strong validator of the body (a digest of its canonical JSON)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def access_snapshot_write(
    *, access: CustomerAccess, customer: Customer, body: dict[str, Any], now: datetime
) -> CustomerAccess:
    """Store the body as the customer's snapshot (caller holds the row lock)."""
    access.body = body
    access.etag = etag_of(body)
    access.as_of = now
    access.livemode = customer.livemode
    access.save(update_fields=["body", "etag", "as_of", "livemode"])
    snapshot_forget(customer.pk)
    return access


def evaluate_periods(periods: list[LimitPeriod], now: datetime) -> list[Evaluated]:
    """Read each limit's figure (units or spend) for its period."""
    return [
        Evaluated(period=period, value=limit_value(period, now)) for period in periods
    ]

"""Shared setup for usage-limit tests: a metered plan whose product has a feature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from alerts.models import ActiveEntitlement
from alerts.services.limits import customer_access_get, limits_evaluate
from billing.services import subscription_create
from catalog.models import Feature, Price
from catalog.services import product_feature_create
from core.models import Customer, Event
from metering.models import Meter
from tests.alerts.factories import CustomerFactory, MeterFactory, PriceFactory, report

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
SUMMARY = "entitlements.active_entitlement_summary.updated"


def d(month: int, day: int, hour: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, 0, second, tzinfo=UTC)


@dataclass
class Plan:
    meter: Meter
    price: Price
    feature: Feature


def make_plan(*, unit_amount: str = "100", livemode: bool = False) -> Plan:
    """A metered price (``unit_amount`` minor units a call) whose product has "api"."""
    meter = MeterFactory(display_name="API calls", event_name="api_calls")
    price = PriceFactory(
        unit_amount_decimal=Decimal(unit_amount),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    feature = Feature.objects.create(name="API", lookup_key="api", livemode=livemode)
    product_feature_create(
        product=price.product, feature_id=feature.pk, livemode=livemode
    )
    return Plan(meter=meter, price=price, feature=feature)


def subscribe(customer: Customer, price: Price, now: datetime = APR1):
    return subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=now
    )


def features_of(customer: Customer) -> list[str]:
    return sorted(
        ActiveEntitlement.objects.filter(customer=customer).values_list(
            "lookup_key", flat=True
        )
    )


def summaries(customer: Customer) -> list[list[str]]:
    """The lookup keys of each summary event of the customer, oldest first."""
    return [
        [row["lookup_key"] for row in event.data["object"]["entitlements"]["data"]]
        for event in Event.objects.filter(
            type=SUMMARY, data__object__customer=customer.pk
        ).order_by("created", "pk")
    ]


def checked_customer(plan: Plan, prefix: str) -> Customer:
    """A customer on ``plan`` with 40 units reported on Apr 3 and evaluated: the
    check endpoint's snapshot exists."""
    customer = CustomerFactory(invoice_prefix=prefix, currency="usd")
    subscribe(customer, plan.price)
    report(meter=plan.meter, customer=customer, value=40, now=d(4, 3))
    limits_evaluate(now=d(4, 3, 1), customer_ids=[customer.pk])
    return customer


def checked_usage(customer: Customer) -> int:
    """The usage the check endpoint's read answers for the customer's one meter."""
    access = customer_access_get(
        customer_id=customer.pk, livemode=False, now=d(4, 3, 2)
    )
    return access.body["usage"][0]["value"]

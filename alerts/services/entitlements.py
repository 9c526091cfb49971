"""Active entitlements: materialized per customer, one summary event per change.

A customer holds a feature while an entitling subscription (see
``alerts.access``) has an item whose price's product carries the feature, and
no usage-limit crossing in force cuts it. ``entitlements_sync`` rewrites the
customer's rows to match and records ``entitlements.active_entitlement_summary
.updated`` only when the set of features changed, in the caller's transaction
(which holds the customer's access lock), so the event is emitted exactly once
per actual change and commits with it.
"""

from __future__ import annotations

from typing import Any

from alerts.access import ENTITLING_STATUSES, active_entitlements, crossings_in_force
from alerts.models import ActiveEntitlement
from catalog.models import ProductFeature
from core import resources
from core.models import Customer
from core.services.events import event_record

SUMMARY_EVENT = "entitlements.active_entitlement_summary.updated"
_VIA = "product__prices__subscription_items__subscription__"


def held_features(*, customer_id: str) -> dict[str, str]:
    """Feature id -> lookup key of what the customer's subscriptions entitle to."""
    rows = (
        ProductFeature.objects.filter(
            **{
                f"{_VIA}customer_id": customer_id,
                f"{_VIA}status__in": ENTITLING_STATUSES,
            }
        )
        .values_list("feature_id", "feature__lookup_key")
        .distinct()
    )
    return dict(rows)


def summary_data(customer: Customer, rows: list[ActiveEntitlement]) -> dict[str, Any]:
    """``entitlements.active_entitlement_summary`` as Stripe shows it."""
    return {
        "object": "entitlements.active_entitlement_summary",
        "customer": customer.pk,
        "entitlements": {
            "object": "list",
            "data": [resources.serialize(row) for row in rows],
            "has_more": False,
            "url": "/v1/entitlements/active_entitlements",
        },
        "livemode": customer.livemode,
    }


def entitlements_sync(*, customer: Customer) -> bool:
    """Make the customer's active entitlements match; True if they changed.

    The caller holds the customer's ``CustomerAccess`` row lock.
    """
    cut = {crossing.limit.feature_id for crossing in crossings_in_force([customer.pk])}
    wanted = {
        feature_id: lookup_key
        for feature_id, lookup_key in held_features(customer_id=customer.pk).items()
        if feature_id not in cut
    }
    before = active_entitlements(customer_id=customer.pk)
    held = {row.feature_id for row in before}
    gone = held - set(wanted)
    new = set(wanted) - held
    if not gone and not new:
        return False
    ActiveEntitlement.objects.filter(customer=customer, feature_id__in=gone).delete()
    ActiveEntitlement.objects.bulk_create(
        ActiveEntitlement(
            customer=customer,
            feature_id=feature_id,
            lookup_key=wanted[feature_id],
            livemode=customer.livemode,
        )
        for feature_id in sorted(new)
    )
    after = active_entitlements(customer_id=customer.pk)
    event_record(
        type=SUMMARY_EVENT,
        data_object=summary_data(customer, after),
        previous_attributes={
            "entitlements": summary_data(customer, before)["entitlements"]
        },
    )
    return True

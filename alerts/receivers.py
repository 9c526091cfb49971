"""How the alerts app follows lower apps without them importing it.

- ``billing.signals.subscriptions_changed``: inside the billing transaction,
  the customers' entitlements, limits and check snapshots are refreshed, so the
  summary event commits with the subscription change.
- ``catalog.signals.product_features_changed``: the product's subscribers,
  likewise, inside the catalog transaction.
- Events recorded by credits and billing that move a credit balance (grants,
  finalized or voided invoices): after they commit, the customers' limits are
  evaluated again (new credits can lift a monetary limit's crossing) and their
  snapshots refreshed. Beat's run every minute catches anything missed here.
"""

from __future__ import annotations

import logging

from alerts.access import ENTITLING_STATUSES
from alerts.services.limits import access_refresh, limits_evaluate
from billing.models import Subscription
from core import clock
from core.models import Event

logger = logging.getLogger(__name__)

# Event types after which credit balances (and so monetary limits) may differ.
CREDIT_EVENTS = (
    "billing.credit_grant.created",
    "billing.credit_grant.updated",
    "invoice.finalized",
    "invoice.voided",
)


def on_subscriptions_changed(sender, customer_ids, **kwargs) -> None:
    access_refresh(customer_ids=customer_ids, now=clock.now())


def on_product_features_changed(sender, product_id, **kwargs) -> None:
    customer_ids = (
        Subscription.objects.filter(
            status__in=ENTITLING_STATUSES, items__price__product_id=product_id
        )
        .values_list("customer_id", flat=True)
        .distinct()
    )
    access_refresh(customer_ids=set(customer_ids), now=clock.now())


def on_events_recorded(event_ids: list[str]) -> None:
    """Evaluate again the customers whose credits an event just moved."""
    customer_ids = {
        customer_id
        for customer_id in Event.objects.filter(
            pk__in=event_ids, type__in=CREDIT_EVENTS
        ).values_list("data__object__customer", flat=True)
        if isinstance(customer_id, str)
    }
    if not customer_ids:
        return
    try:
        limits_evaluate(now=clock.now(), customer_ids=customer_ids)
    except Exception:  # the transaction that moved credits has committed already
        logger.exception("Usage limits of %s not evaluated", sorted(customer_ids))


def on_event_recorded(event_id: str) -> None:
    on_events_recorded([event_id])

"""How the alerts app follows lower apps without them importing it.

- ``metering.signals.usage_recorded``: queues one run of
  ``usage_changes_evaluate`` ``TALLY_USAGE_DEBOUNCE`` seconds later. Until it
  starts, further commits in this process need no message of their own: the run
  reads every event committed before it. So a process sends at most one message
  per debounce interval however fast events arrive, and each event is acted on
  within about that interval.
- ``metering.signals.meter_event_cancelled``: a counted event leaves the alerts'
  progress in the cancel's transaction.
- ``billing.signals.subscriptions_changed``: inside the billing transaction,
  the customers' entitlements, limits and check snapshots are refreshed, so the
  summary event commits with the subscription change.
- ``catalog.signals.product_features_changed``: the product's subscribers,
  likewise, inside the catalog transaction.
- Events recorded by credits and billing that move a credit balance (grants,
  finalized or voided invoices): after they commit, the customers' limits are
  evaluated again (new credits can lift a monetary limit's crossing), their
  snapshots refreshed and their credit balance alerts evaluated. Beat's run
  every minute catches anything missed here.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.db import transaction

from alerts.access import ENTITLING_STATUSES
from alerts.services.credit_alerts import credit_balance_alerts_evaluate
from alerts.services.limits import access_refresh, limits_evaluate
from alerts.services.progress import alert_progress_cancel
from alerts.tasks import usage_changes_evaluate_task
from billing.models import Subscription
from core import clock, queue
from core.models import Event

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# Monotonic time at which the run queued by this process starts; commits before
# it are covered by that run.
_queued_run_starts = 0.0


def _forget_queued_run() -> None:
    global _queued_run_starts
    _queued_run_starts = 0.0


os.register_at_fork(after_in_child=_forget_queued_run)


def on_usage_recorded(sender, **kwargs) -> None:
    """Queue a run of the usage evaluation, unless one queued here starts later."""
    global _queued_run_starts
    # The common case first, without a lock or Celery's settings: a run queued
    # here is still to come (never so in eager mode, which queues none).
    if time.monotonic() < _queued_run_starts:
        return
    if usage_changes_evaluate_task.app.conf.task_always_eager:
        usage_changes_evaluate_task.delay()
        return
    delay = settings.TALLY_USAGE_DEBOUNCE
    now = time.monotonic()
    with _lock:
        if now < _queued_run_starts:
            return
        _queued_run_starts = now + delay
    try:
        queue.send_guarded(
            lambda: usage_changes_evaluate_task.apply_async(countdown=delay),
            what="usage evaluation",
        )
    except queue.BrokerUnavailable:
        _forget_queued_run()  # logged when it first failed
    except Exception:
        # The events are stored; the Beat job evaluates them within a minute.
        logger.exception("Could not queue the usage evaluation")
        _forget_queued_run()


def on_meter_event_cancelled(sender, *, event, now, **kwargs) -> None:
    """Take the event out of alert progress now; re-check limits after commit
    (less usage may restore a feature a limit cut)."""
    alert_progress_cancel(event=event, now=now)
    customer_ids = [event.customer_id]
    transaction.on_commit(
        lambda: limits_evaluate(now=clock.now(), customer_ids=customer_ids)
    )


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
        credit_balance_alerts_evaluate(now=clock.now(), customer_ids=customer_ids)
    except Exception:  # the transaction that moved credits has committed already
        logger.exception("Limits and alerts of %s not evaluated", sorted(customer_ids))


def on_event_recorded(event_id: str) -> None:
    on_events_recorded([event_id])

"""Credit balance alerts (``alert_type=credit_balance_threshold``).

Stripe's preview shape: one customer filter and ``lte`` (``balance_type=monetary``,
an amount in minor units of one currency). The balance watched is the real-time
one: the available credits less what the usage not yet invoiced will take
(``credits.selectors.credit_balance_summary``'s ``after_unbilled_usage``, rated
through the invoice pipeline), so the alert fires as the usage burns the credits
down, not only when an invoice finalizes. It fires once per customer
(``recurrence=one_time``), through the same unique ``AlertTrigger`` row, event,
webhook and emails as usage alerts. A customer without any grant in the currency
has no balance to watch and is not evaluated.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef

from alerts.models import Alert, AlertTrigger
from alerts.services.firing import alert_trigger
from core.errors import InvalidRequest, ResourceMissing
from core.models import Customer, TestClock
from core.money import MAX_AMOUNT
from credits.selectors import credit_balance_summary

CREDIT_CUSTOMER_PARAM = "credit_balance_threshold[filters][0][customer]"
LTE_PARAM = "credit_balance_threshold[lte][monetary][value]"
CURRENCY_PARAM = "credit_balance_threshold[lte][monetary][currency]"


@transaction.atomic
def credit_balance_alert_create(
    *,
    title: str,
    customer: Customer,
    currency: str,
    value: int,
    metadata: dict[str, str] | None = None,
    now: datetime,
) -> Alert:
    """Create an active alert that fires when the customer's credit balance in
    ``currency`` falls to ``value`` minor units or below."""
    title = (title or "").strip()
    if not title or len(title) > 256:
        raise InvalidRequest("The title must be 1 to 256 characters.", param="title")
    if customer.deleted:
        raise ResourceMissing(
            f"No such customer: '{customer.pk}'",
            param=CREDIT_CUSTOMER_PARAM,
            http_status=400,
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest("The level must be a whole number.", param=LTE_PARAM)
    if not 0 <= value <= MAX_AMOUNT:
        raise InvalidRequest(
            f"The level must be between 0 and {MAX_AMOUNT} (minor units).",
            param=LTE_PARAM,
        )
    alert = Alert(
        alert_type=Alert.AlertType.CREDIT_BALANCE_THRESHOLD,
        title=title,
        customer=customer,
        lte_value=value,
        lte_currency=currency.lower(),
        test_clock_id=customer.test_clock_id,
        livemode=customer.livemode,
        metadata=metadata or {},
        created=now,
        updated=now,
    )
    alert.save(force_insert=True)
    return alert


def _watching(
    customer_ids: Collection[str] | None, test_clock: TestClock | None
) -> list[Alert]:
    """Active credit balance alerts that have not fired, of real-time customers
    (or the clock's), narrowed to ``customer_ids``."""
    fired = AlertTrigger.objects.filter(
        alert=OuterRef("pk"), customer=OuterRef("customer")
    )
    rows = Alert.objects.filter(
        alert_type=Alert.AlertType.CREDIT_BALANCE_THRESHOLD,
        status=Alert.Status.ACTIVE,
        customer__deleted=False,
        test_clock=test_clock,
    ).exclude(Exists(fired))
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=list(customer_ids))
    return list(rows.select_related("customer__test_clock").order_by("pk"))


def credit_balance_alerts_evaluate(
    *,
    now: datetime,
    customer_ids: Collection[str] | None = None,
    test_clock: TestClock | None = None,
) -> int:
    """Fire the credit balance alerts whose customer's balance fell to their
    level; returns firings. ``now`` is real time, or the clock's with
    ``test_clock``. Exactly once per customer (``alert_trigger``)."""
    fired = 0
    balances: dict[str, dict[str, int]] = {}
    for alert in _watching(customer_ids, test_clock):
        customer_id = alert.customer_id
        if customer_id not in balances:
            balances[customer_id] = {
                balance.currency: _watched(balance)
                for balance in credit_balance_summary(customer_id=customer_id, now=now)
            }
        balance = balances[customer_id].get(alert.lte_currency)
        if balance is not None and balance <= alert.lte_value:
            trigger = alert_trigger(
                alert_id=alert.pk, customer_id=customer_id, value=balance, now=now
            )
            fired += trigger is not None
    return fired


def _watched(balance) -> int:
    """The real-time balance: after the usage not yet invoiced, when known."""
    if balance.after_unbilled_usage is not None:
        return balance.after_unbilled_usage
    return balance.available

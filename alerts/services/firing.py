"""Firing an alert for a customer: once, with its event, webhooks and emails.

``alert_trigger`` inserts the ``AlertTrigger`` row whose (alert, customer) key is
unique, records ``billing.alert.triggered`` (webhooks fan out from the event) and
queues the emails, all in one transaction: a rerun, or a second worker racing the
first, fires nothing more. Usage and credit balance alerts fire alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.admin.utils import quote
from django.db import IntegrityError, transaction
from django.urls import reverse

from alerts.models import Alert, AlertProgress, AlertTrigger
from core.models import Customer
from core.money import format_minor
from core.notifications import send_email_on_commit, staff_recipients
from core.services.events import event_emit

logger = logging.getLogger(__name__)

TEMPLATE = "alerts/email/alert_triggered"


def alert_trigger(
    *, alert_id: str, customer_id: str, value: Decimal, now: datetime
) -> AlertTrigger | None:
    """Fire the alert for the customer: event, webhooks, emails. None if it had fired.

    ``now`` is the customer's "now"; the alert must still be active.
    """
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("meter")
            .filter(pk=alert_id, status=Alert.Status.ACTIVE)
            .first()
        )
        if alert is None:
            return None
        customer = Customer.objects.get(pk=customer_id)
        try:
            with transaction.atomic():
                trigger = AlertTrigger.objects.create(
                    alert=alert,
                    customer=customer,
                    value=value,
                    created=now,
                    livemode=alert.livemode,
                )
        except IntegrityError:
            return None  # fired already, by an earlier run or another worker
        AlertProgress.objects.filter(alert=alert, customer=customer).delete()
        event = event_emit(type="billing.alert.triggered", instance=trigger)
        trigger.event_id = event.pk
        trigger.save(update_fields=["event_id"])
        _notify(alert, customer, trigger)
    logger.info("Alert %s fired for %s at %s", alert.pk, customer.pk, value)
    return trigger


def _dashboard_url(alert: Alert) -> str:
    path = reverse("admin:alerts_alert_change", args=[quote(alert.pk)])
    return f"{getattr(settings, 'TALLY_PUBLIC_URL', '')}{path}"


def _notify(alert: Alert, customer: Customer, trigger: AlertTrigger) -> None:
    """Email the customer, and staff (with a link to the alert), after commit."""
    context = {
        "alert": alert,
        "meter": alert.meter,
        "customer": customer,
        "value": int(trigger.value),
        "value_display": format_minor(int(trigger.value), alert.lte_currency)
        if alert.is_credit_balance
        else "",
        "triggered_at": trigger.created,
    }
    audiences: Iterable[tuple[list[str], bool]] = (
        ([customer.email or ""], False),
        (staff_recipients(), True),
    )
    for to, for_staff in audiences:
        send_email_on_commit(
            to=to,
            template=TEMPLATE,
            context={
                **context,
                "for_staff": for_staff,
                "dashboard_url": _dashboard_url(alert) if for_staff else "",
            },
        )

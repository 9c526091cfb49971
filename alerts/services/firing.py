"""Firing an alert for a customer: once, with its event, webhooks and emails.

``alert_trigger`` inserts the ``AlertTrigger`` row whose (alert, customer) key is
unique, records ``billing.alert.triggered`` (webhooks fan out from the event) and
queues the emails, all in one transaction: a rerun, or a second worker racing the
first, fires nothing more. Usage and credit balance alerts fire alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.admin.utils import quote
from django.db import IntegrityError, transaction
from django.urls import reverse

from alerts.models import Alert, AlertTrigger
from alerts.services.marks import marks_release
from core import resources
from core.models import Customer
from core.money import format_minor
from core.notifications import (
    Email,
    send_email_on_commit,
    send_emails_on_commit,
    staff_recipients,
)
from core.services.events import event_build, event_emit, events_record

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
        if alert.meter_id:
            marks_release([(alert.meter_id, customer.pk, alert.after_event_id)])
        event = event_emit(type="billing.alert.triggered", instance=trigger)
        trigger.event_id = event.pk
        trigger.save(update_fields=["event_id"])
        _notify(alert, customer, trigger)
    logger.info("Alert %s fired for %s at %s", alert.pk, customer.pk, value)
    return trigger


# Firings written per transaction by ``alerts_fire``.
FIRE_CHUNK = 500


def alerts_fire(*, reached: Sequence[tuple[str, str, Decimal]], now: datetime) -> int:
    """Fire many (alert id, customer id, value) at once; returns how many fired.

    As ``alert_trigger`` for each, a chunk per transaction: the chunk's alerts
    are locked (in id order) before their triggers are read and written, so a
    pair that fired already, here or in another worker, fires nothing more.
    """
    fired = 0
    for offset in range(0, len(reached), FIRE_CHUNK):
        fired += _fire_chunk(reached[offset : offset + FIRE_CHUNK], now=now)
    return fired


def _fire_chunk(reached: Sequence[tuple[str, str, Decimal]], *, now: datetime) -> int:
    with transaction.atomic():
        alerts = {
            alert.pk: alert
            for alert in Alert.objects.select_for_update(of=("self",))
            .select_related("meter")
            .filter(pk__in={alert_id for alert_id, _, _ in reached})
            .filter(status=Alert.Status.ACTIVE)
            .order_by("pk")
        }
        pairs = {(a, c) for a, c, _ in reached if a in alerts}
        if not pairs:
            return 0
        customers = Customer.objects.in_bulk({c for _, c, _ in reached})
        done = set(
            AlertTrigger.objects.filter(
                alert_id__in={a for a, _ in pairs},
                customer_id__in={c for _, c in pairs},
            ).values_list("alert_id", "customer_id")
        )
        triggers = AlertTrigger.objects.bulk_create(
            AlertTrigger(
                alert=alerts[alert_id],
                customer=customers[customer_id],
                value=value,
                created=now,
                livemode=alerts[alert_id].livemode,
            )
            for alert_id, customer_id, value in sorted(reached)
            if (alert_id, customer_id) in pairs - done and customer_id in customers
        )
        if not triggers:
            return 0
        events = events_record(
            events=[
                event_build(
                    type="billing.alert.triggered",
                    data_object=resources.serialize(trigger),
                )
                for trigger in triggers
            ]
        )
        for trigger, event in zip(triggers, events, strict=True):
            trigger.event_id = event.pk
        AlertTrigger.objects.bulk_update(triggers, ["event_id"])
        marks_release(
            (
                alerts[t.alert_id].meter_id,
                t.customer_id,
                alerts[t.alert_id].after_event_id,
            )
            for t in triggers
            if alerts[t.alert_id].meter_id
        )
        send_emails_on_commit(emails=[e for t in triggers for e in _emails(t)])
    for trigger in triggers:
        logger.info(
            "Alert %s fired for %s at %s",
            trigger.alert_id,
            trigger.customer_id,
            trigger.value,
        )
    return len(triggers)


def _dashboard_url(alert: Alert) -> str:
    path = reverse("admin:alerts_alert_change", args=[quote(alert.pk)])
    return f"{getattr(settings, 'TALLY_PUBLIC_URL', '')}{path}"


def _notify(alert: Alert, customer: Customer, trigger: AlertTrigger) -> None:
    """Email the customer, and staff (with a link to the alert), after commit."""
    for email in _emails(trigger, alert=alert, customer=customer):
        send_email_on_commit(
            to=email.to, template=email.template, context=email.context
        )


def _emails(
    trigger: AlertTrigger,
    *,
    alert: Alert | None = None,
    customer: Customer | None = None,
) -> list[Email]:
    """The customer's email and staff's (with a link to the alert)."""
    alert = alert or trigger.alert
    customer = customer or trigger.customer
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
    return [
        Email(
            to=to,
            template=TEMPLATE,
            context={
                **context,
                "for_staff": for_staff,
                "dashboard_url": _dashboard_url(alert) if for_staff else "",
            },
        )
        for to, for_staff in audiences
    ]

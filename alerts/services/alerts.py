"""Usage alerts: create, and the status machine active ⇄ inactive → archived.

Archived is final. The 25-alert limit per (meter, customer) counts the alerts that
are not archived; an alert without a customer filter counts for every customer.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max

from alerts.models import (
    MAX_ALERTS_PER_METER_AND_CUSTOMER,
    Alert,
    AlertCursor,
)
from alerts.services.marks import alert_marks, marks_release
from core.errors import InvalidRequest, InvalidState, ResourceMissing
from core.models import Customer
from metering.models import Meter, MeterEvent

METER_PARAM = "usage_threshold[meter]"
CUSTOMER_PARAM = "usage_threshold[filters][0][customer]"
GTE_PARAM = "usage_threshold[gte]"
# Meter values have at most 15 significant digits; a threshold needs no more.
MAX_GTE = 10**15


def _locked_meter(meter_id: str) -> Meter:
    """Lock the meter: alert creations on one meter take turns (the 25 limit)."""
    meter = Meter.objects.select_for_update().filter(pk=meter_id).first()
    if meter is None:
        raise ResourceMissing(
            f"No such billing meter: '{meter_id}'", param=METER_PARAM, http_status=400
        )
    if not meter.is_active:
        raise InvalidRequest(
            f"The meter {meter.pk} is inactive; alerts can only watch active meters.",
            param=METER_PARAM,
        )
    return meter


def _check_limit(meter: Meter, customer: Customer | None) -> None:
    live = Alert.objects.filter(meter=meter).exclude(status=Alert.Status.ARCHIVED)
    everyone = live.filter(customer__isnull=True).count()
    if customer is not None:
        most = live.filter(customer=customer).count()
    else:
        most = (
            live.filter(customer__isnull=False)
            .values("customer")
            .annotate(count=Count("id"))
            .aggregate(most=Max("count"))["most"]
            or 0
        )
    if everyone + most >= MAX_ALERTS_PER_METER_AND_CUSTOMER:
        who = f"customer {customer.pk}" if customer else "a customer"
        raise InvalidRequest(
            f"The meter {meter.pk} already has {MAX_ALERTS_PER_METER_AND_CUSTOMER} "
            f"alerts for {who}; archive one first.",
            param=METER_PARAM,
            code="alert_limit_exceeded",
        )


def _check_gte(gte: int) -> None:
    if isinstance(gte, bool) or not isinstance(gte, int) or not 0 < gte <= MAX_GTE:
        raise InvalidRequest(
            f"The threshold must be a whole number greater than 0 (at most {MAX_GTE}).",
            param=GTE_PARAM,
        )


@transaction.atomic
def alert_create(
    *,
    title: str,
    meter_id: str,
    gte: int,
    customer: Customer | None = None,
    metadata: dict[str, str] | None = None,
    now: datetime,
) -> Alert:
    """Create an active ``usage_threshold`` alert (``recurrence=one_time``).

    ``now`` is the filter customer's "now" (its test clock's time, if any). Only
    events reported from now on count towards the threshold.
    """
    title = (title or "").strip()
    if not title or len(title) > 256:
        raise InvalidRequest("The title must be 1 to 256 characters.", param="title")
    _check_gte(gte)
    if customer is not None and customer.deleted:
        raise ResourceMissing(
            f"No such customer: '{customer.pk}'", param=CUSTOMER_PARAM, http_status=400
        )
    meter = _locked_meter(meter_id)
    if customer is not None and customer.livemode != meter.livemode:
        # The alert is in its meter's mode; another mode's customer is not there.
        raise ResourceMissing(
            f"No such customer: '{customer.pk}'", param=CUSTOMER_PARAM, http_status=400
        )
    _check_limit(meter, customer)
    # The Beat job's counting waits (its cursor is locked): it has counted no
    # event past ``after``, and counts every later one for this alert.
    AlertCursor.objects.select_for_update().get_or_create(pk=1)
    after = MeterEvent.objects.aggregate(last=Max("id"))["last"] or 0
    alert = Alert(
        title=title,
        meter=meter,
        customer=customer,
        gte=gte,
        test_clock_id=customer.test_clock_id if customer else None,
        after_event_id=after,
        livemode=meter.livemode,
        metadata=metadata or {},
        created=now,
        updated=now,
    )
    alert.save(force_insert=True)
    return alert


def _change(alert: Alert, status: str, now: datetime) -> Alert:
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status == Alert.Status.ARCHIVED:
            raise InvalidState(
                f"The alert {alert.pk} is archived; it can no longer be changed."
            )
        if alert.status != status:
            alert.status, alert.updated = status, now
            alert.save(update_fields=["status", "updated"])
        if status == Alert.Status.ARCHIVED:
            marks_release(alert_marks(alert))
    return alert


def alert_activate(*, alert: Alert, now: datetime) -> Alert:
    """Evaluate the alert again (for the customers it has not fired for)."""
    return _change(alert, Alert.Status.ACTIVE, now)


def alert_deactivate(*, alert: Alert, now: datetime) -> Alert:
    """Stop evaluating the alert until it is activated again."""
    return _change(alert, Alert.Status.INACTIVE, now)


def alert_archive(*, alert: Alert, now: datetime) -> Alert:
    """Archive the alert for good: it no longer fires nor lists."""
    return _change(alert, Alert.Status.ARCHIVED, now)

"""Dropping the usage marks no alert needs any more.

A ``UsageMark`` (meter, customer, event) serves the alerts on the meter created
at that event that watch the customer (theirs or everyone's) and have not fired
for them. Once the last of them fires or is archived the mark would only be read
for nothing by every pass (``progress_crossed`` starts from the marks): it goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_

from django.db.models import Q

from alerts.models import Alert, AlertTrigger, UsageMark

Key = tuple[str, str, int]  # (meter id, customer id, event id)


def marks_release(keys: Iterable[Key]) -> int:
    """Delete the marks of ``keys`` that no live, unfired alert needs; how many."""
    keys = set(keys)
    if not keys:
        return 0
    customers = {customer for _, customer, _ in keys}
    alerts = list(
        Alert.objects.filter(
            Q(customer_id__in=customers) | Q(customer__isnull=True),
            alert_type=Alert.AlertType.USAGE_THRESHOLD,
            meter_id__in={meter for meter, _, _ in keys},
            after_event_id__in={event for _, _, event in keys},
        )
        .exclude(status=Alert.Status.ARCHIVED)
        .values_list("pk", "meter_id", "customer_id", "after_event_id")
    )
    fired = set(
        AlertTrigger.objects.filter(
            alert_id__in=[pk for pk, _, _, _ in alerts], customer_id__in=customers
        ).values_list("alert_id", "customer_id")
    )
    needed = {
        (meter, customer, event)
        for pk, meter, own, event in alerts
        for customer in ([own] if own else customers)
        if (pk, customer) not in fired
    }
    unused = keys - needed
    if not unused:
        return 0
    matching = reduce(
        or_, (Q(meter_id=m, customer_id=c, event_id=e) for m, c, e in sorted(unused))
    )
    return UsageMark.objects.filter(matching).delete()[0]


def alert_marks(alert: Alert) -> list[Key]:
    """The marks an alert may read: its customer's, or every customer's."""
    marks = UsageMark.objects.filter(
        meter_id=alert.meter_id, event_id=alert.after_event_id
    )
    if alert.customer_id:
        marks = marks.filter(customer_id=alert.customer_id)
    return list(marks.values_list("meter_id", "customer_id", "event_id"))

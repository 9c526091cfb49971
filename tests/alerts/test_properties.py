"""Property: an alert fires iff the usage reported after its creation reaches gte,
at most once per customer, whatever the stream and however often the job runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.models import AlertTrigger
from alerts.services import alert_create, alerts_evaluate
from tests.alerts.factories import T0, CustomerFactory, MeterFactory, report

MINUTE = timedelta(minutes=1)
CUSTOMERS = 3

# One step: usage (customer, value) reported now, or the Beat job running now.
step = st.one_of(
    st.tuples(
        st.just("usage"),
        st.integers(min_value=0, max_value=CUSTOMERS - 1),
        st.integers(min_value=-20, max_value=60),
    ),
    st.tuples(st.just("evaluate")),
)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    before=st.lists(
        st.tuples(st.integers(0, CUSTOMERS - 1), st.integers(0, 60)), max_size=4
    ),
    steps=st.lists(step, max_size=14),
    gte=st.integers(min_value=1, max_value=150),
    filtered=st.booleans(),
)
def test_fires_iff_usage_after_creation_reaches_gte(before, steps, gte, filtered):
    with transaction.atomic():
        meter = MeterFactory()
        customers = [CustomerFactory() for _ in range(CUSTOMERS)]
        now = T0
        for index, value in before:
            report(meter=meter, customer=customers[index], value=value, now=now)
        watched = customers[0] if filtered else None
        alert = alert_create(
            title="p", meter_id=meter.pk, gte=gte, customer=watched, now=now
        )
        after = [0] * CUSTOMERS
        expected: dict[str, int] = {}
        for entry in [*steps, ("evaluate",)]:
            now += MINUTE
            if entry[0] == "usage":
                _, index, value = entry
                report(meter=meter, customer=customers[index], value=value, now=now)
                after[index] += value
                continue
            alerts_evaluate(now=now)
            for index, customer in enumerate(customers):
                applies = watched is None or customer == watched
                if applies and after[index] >= gte and customer.pk not in expected:
                    expected[customer.pk] = after[index]
            fired = {
                trigger.customer_id: int(trigger.value)
                for trigger in AlertTrigger.objects.filter(alert=alert)
            }
            # Fired exactly for those who reached gte, with the usage at that run.
            assert fired == expected
        transaction.set_rollback(True)

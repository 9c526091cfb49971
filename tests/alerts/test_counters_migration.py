"""0007: the counted progress of existing alerts survives the move to counters."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts.models import Alert, UsageCounter, UsageMark
from alerts.services.progress import alert_progress
from tests.alerts.factories import CustomerFactory, MeterFactory, make_alert

BEFORE, AFTER = (
    [("alerts", "0006_customer_access_notify")],
    [("alerts", "0007_usage_counters")],
)


@pytest.mark.django_db(transaction=True)
def test_progress_rows_become_marks_and_waiting_alerts_get_one():
    meter = MeterFactory()
    counted, waiting = CustomerFactory(), CustomerFactory()
    everyone = make_alert(meter=meter, gte=1_000, title="everyone")
    mine = make_alert(meter=meter, customer=counted, gte=1_000, title="mine")
    quiet = make_alert(meter=meter, customer=waiting, gte=1_000, title="quiet")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    old.get_model("alerts", "AlertCursor").objects.update_or_create(
        pk=1, defaults={"event_id": 10}
    )
    progress = old.get_model("alerts", "AlertProgress")
    progress.objects.create(alert_id=mine.pk, customer_id=counted.pk, value=40)
    progress.objects.create(alert_id=everyone.pk, customer_id=counted.pk, value=40)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    assert [c.value for c in UsageCounter.objects.all()] == [0, 0]
    assert UsageMark.objects.count() == 2  # mine and everyone share one; quiet's
    for alert, customer, value in (
        (mine, counted, 40),
        (everyone, counted, 40),
        (quiet, waiting, 0),
    ):
        alert = Alert.objects.get(pk=alert.pk)
        assert alert_progress(alert=alert, customer_id=customer.pk) == value

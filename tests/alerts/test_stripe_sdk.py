"""The official stripe SDK drives billing alerts and reads their triggered event."""

from __future__ import annotations

import pytest

from alerts.services import alerts_evaluate
from core import clock


def test_alert_lifecycle_with_the_sdk(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Jenny Rosen", email="jenny@example.com")
    meter = stripe.billing.Meter.create(
        display_name="Hypernian API tokens",
        event_name="hypernian_api_tokens",
        default_aggregation={"formula": "sum"},
    )
    alert = stripe.billing.Alert.create(
        alert_type="usage_threshold",
        title="1,000 API tokens",
        usage_threshold={
            "gte": 1000,
            "meter": meter.id,
            "recurrence": "one_time",
            "filters": [{"type": "customer", "customer": customer.id}],
        },
    )
    assert isinstance(alert, stripe.billing.Alert)
    assert alert.id.startswith("alrt_")
    assert (alert.status, alert.alert_type) == ("active", "usage_threshold")
    assert alert.usage_threshold.meter == meter.id
    assert alert.usage_threshold.filters[0].customer == customer.id

    everyone = stripe.billing.Alert.create(
        alert_type="usage_threshold",
        title="Everyone: 10 tokens",
        usage_threshold={"gte": 10, "meter": meter.id, "recurrence": "one_time"},
    )
    assert everyone.usage_threshold.filters is None
    fetched = stripe.billing.Alert.retrieve(alert.id, expand=["usage_threshold.meter"])
    assert fetched.usage_threshold.meter.display_name == "Hypernian API tokens"
    listed = stripe.billing.Alert.list(meter=meter.id, alert_type="usage_threshold")
    assert {a.id for a in listed.auto_paging_iter()} == {alert.id, everyone.id}

    assert stripe.billing.Alert.deactivate(everyone.id).status == "inactive"
    assert stripe.billing.Alert.activate(everyone.id).status == "active"
    archived = everyone.archive()
    assert archived.status == "archived"
    listed = stripe.billing.Alert.list(meter=meter.id)
    assert [a.id for a in listed.auto_paging_iter()] == [alert.id]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.billing.Alert.activate(everyone.id)
    assert refused.value.http_status == 400

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.billing.Alert.create(
            alert_type="usage_threshold",
            title="No such meter",
            usage_threshold={
                "gte": 5,
                "meter": "mtr_missing",
                "recurrence": "one_time",
            },
        )
    assert refused.value.param == "usage_threshold[meter]"

    stripe.billing.MeterEvent.create(
        event_name="hypernian_api_tokens",
        payload={"stripe_customer_id": customer.id, "value": "1200"},
    )
    # The event's commit queued the evaluation (run at once in tests): it fired.
    assert alerts_evaluate(now=clock.now()) == 0
    (event,) = stripe.Event.list(type="billing.alert.triggered").data
    triggered = event.data.object
    assert isinstance(triggered, stripe.billing.AlertTriggered)
    assert (triggered.customer, triggered.value) == (customer.id, 1200)
    assert triggered.alert.id == alert.id

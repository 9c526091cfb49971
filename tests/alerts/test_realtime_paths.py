"""Every way in counts at once: an alert fires as its usage arrives through the v1
API, the v2 stream or a bulk import, without waiting for Beat."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from alerts.models import AlertTrigger
from tests.alerts.factories import T0, CustomerFactory, MeterFactory, make_alert

pytestmark = pytest.mark.django_db


def _payload(customer, value: int) -> dict:
    return {"stripe_customer_id": customer.pk, "value": str(value)}


def v1(api, tmp_path, meter, customer) -> None:
    for value in (60, 50):
        response = api.post(
            "/v1/billing/meter_events",
            {"event_name": meter.event_name, "payload": _payload(customer, value)},
        )
        assert response.status_code == 200, response.json()


def v2_stream(api, tmp_path, meter, customer) -> None:
    token = api.post_json("/v2/billing/meter_event_session", {}).json()[
        "authentication_token"
    ]
    events = [
        {
            "event_name": meter.event_name,
            "identifier": f"v2-{value}",
            "payload": _payload(customer, value),
        }
        for value in (60, 50)
    ]
    response = Client().post(
        "/v2/billing/meter_event_stream",
        {"events": events},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content


def bulk_import(api, tmp_path, meter, customer) -> None:
    path = tmp_path / "usage.ndjson"
    lines = [
        {
            "event_name": meter.event_name,
            "identifier": f"bulk-{value}",
            "timestamp": int(T0.timestamp()),
            "payload": _payload(customer, value),
        }
        for value in (60, 50)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    call_command(
        "import_meter_events", str(path), "--no-progress", stdout=io.StringIO()
    )


@pytest.mark.parametrize("ingest", [v1, v2_stream, bulk_import])
def test_the_alert_fires_as_the_usage_arrives(
    api, tmp_path, ingest, django_capture_on_commit_callbacks
):
    meter = MeterFactory(display_name="API tokens", event_name="api_tokens")
    customer = CustomerFactory(name="Jenny Rosen", email="jenny@example.com")
    make_alert(meter=meter, customer=customer, gte=100, now=T0 - timedelta(hours=1))
    with time_machine.travel(T0, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            ingest(api, tmp_path, meter, customer)
    trigger = AlertTrigger.objects.get()
    assert (trigger.customer_id, int(trigger.value)) == (customer.pk, 110)

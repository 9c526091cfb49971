"""The demo data: one usage alert on the Hypernian API token meter; idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from alerts.models import Alert

pytestmark = pytest.mark.django_db


def test_demo_alert_loads_once():
    call_command("load_demo", stdout=io.StringIO())
    call_command("load_demo", stdout=io.StringIO())
    alert = Alert.objects.get()
    assert alert.meter.event_name == "hypernian_api_tokens"
    assert alert.customer.email == "billing@northwind.example"
    assert (alert.status, alert.gte, alert.recurrence) == (
        "active",
        1_000_000,
        "one_time",
    )

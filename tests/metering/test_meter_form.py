"""The new-meter form refuses event names no sender could match reliably."""

from __future__ import annotations

import pytest
from django.urls import reverse

from metering.models import Meter

pytestmark = pytest.mark.django_db


def _create(client, event_name: str):
    return client.post(
        reverse("admin:metering_meter_add"),
        {
            "display_name": "Tokens",
            "event_name": event_name,
            "formula": "sum",
            "customer_payload_key": "stripe_customer_id",
            "value_payload_key": "value",
            "event_time_window": "",
        },
    )


@pytest.mark.parametrize("event_name", ["api calls!", "tokens used", "é_tokens", "a/b"])
def test_an_event_name_with_spaces_or_punctuation_is_refused(admin_client, event_name):
    response = _create(admin_client, event_name)
    assert response.status_code == 200
    assert "Use only letters, digits" in response.content.decode()
    assert not Meter.objects.exists()


@pytest.mark.parametrize("event_name", ["api_calls", "Tokens.v2", "llm-output-1"])
def test_letters_digits_underscore_dash_and_dot_are_accepted(admin_client, event_name):
    assert _create(admin_client, event_name).status_code == 302
    assert Meter.objects.get().event_name == event_name

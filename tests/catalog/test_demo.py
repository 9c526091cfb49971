"""The Hypernian demo catalog: created once, meters included."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.apps import apps

from catalog import demo
from catalog.models import Price, Product
from catalog.pricing import price_amount
from catalog.selectors import price_spec, prices_with_tiers

pytestmark = pytest.mark.django_db


def test_load_is_idempotent_and_creates_missing_meters():
    Meter = apps.get_model("metering", "Meter")
    existing = Meter.objects.create(
        display_name="Tokens", event_name="hypernian_input_tokens", formula="sum"
    )
    demo.load(stdout=io.StringIO())
    demo.load(stdout=io.StringIO())
    assert Product.objects.count() == 4
    assert Price.objects.count() == 5
    assert Meter.objects.count() == 3
    assert Meter.objects.filter(event_name="hypernian_input_tokens").get() == existing

    pro = Product.objects.get(name="Hypernian Pro")
    monthly = Price.objects.get(lookup_key="hypernian_pro_monthly")
    assert pro.default_price_id == monthly.pk
    assert monthly.unit_amount_decimal == Decimal(20000)
    overage = prices_with_tiers().get(lookup_key="hypernian_pro_overage")
    assert overage.recurring_meter.event_name == "hypernian_api_tokens"
    line = price_amount(price_spec(overage), 150_000)
    assert line.amount.amount == Decimal(5000)

    input_tokens = Price.objects.get(lookup_key="hypernian_input_tokens")
    output_tokens = Price.objects.get(lookup_key="hypernian_output_tokens")
    assert input_tokens.unit_amount_decimal == Decimal(3)
    assert output_tokens.unit_amount_decimal == Decimal(5)
    assert input_tokens.recurring_meter == existing
    assert output_tokens.recurring_meter.event_name == "hypernian_output_tokens"
    credits = Price.objects.get(lookup_key="hypernian_credits")
    assert (credits.type, credits.unit_amount_decimal) == ("one_time", Decimal(10**7))
    assert credits.product.name == "Hypernian Credits"

"""metering/demo.py: the Hypernian meters and a few days of usage, idempotent."""

import io

from core import demo as core_demo
from metering import demo
from metering.models import Meter, MeterEvent


def test_demo_is_idempotent(db):
    core_demo.load(stdout=io.StringIO())
    out = io.StringIO()
    demo.load(stdout=out)
    assert set(
        Meter.objects.filter(status="active").values_list("event_name", flat=True)
    ) == set(demo.METERS)
    per_customer = demo.DAYS * demo.EVENTS_PER_DAY
    assert MeterEvent.objects.count() == 3 * per_customer
    assert "usage events for Jenny Rosen" in out.getvalue()
    again = io.StringIO()
    demo.load(stdout=again)
    assert again.getvalue() == ""
    assert MeterEvent.objects.count() == 3 * per_customer
    assert Meter.objects.count() == 3


def test_demo_reuses_existing_meters(db):
    core_demo.load(stdout=io.StringIO())
    existing = Meter.objects.create(
        display_name="Made by the catalog demo",
        event_name="hypernian_api_tokens",
        formula="sum",
    )
    demo.load(stdout=io.StringIO())
    assert Meter.objects.filter(event_name="hypernian_api_tokens").get() == existing

"""A demo usage alert on the Hypernian API token meter (seed 002); idempotent."""

from __future__ import annotations

from alerts.models import Alert
from alerts.services import alert_create
from core import clock
from core.models import Customer
from metering.models import Meter

TITLE = "Northwind passed 1,000,000 API tokens"
EVENT_NAME = "hypernian_api_tokens"
CUSTOMER_EMAIL = "billing@northwind.example"


def load(*, stdout) -> None:
    meter = Meter.objects.filter(event_name=EVENT_NAME, status="active").first()
    customer = Customer.objects.filter(email=CUSTOMER_EMAIL, deleted=False).first()
    if meter is None or customer is None:
        return
    if Alert.objects.filter(title=TITLE, meter=meter).exists():
        return
    # Tell sales about an upsell (seed 002): fires once, on usage from now on.
    alert_create(
        title=TITLE,
        meter_id=meter.pk,
        gte=1_000_000,
        customer=customer,
        now=clock.now_for_customer(customer),
    )
    stdout.write(f"  usage alert {TITLE}")

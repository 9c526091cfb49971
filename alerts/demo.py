"""A demo usage alert and usage limit on the Hypernian API token meter; idempotent."""

from __future__ import annotations

from alerts.models import Alert, UsageLimit
from alerts.services import alert_create
from alerts.services.usage_limits import usage_limit_create
from catalog.models import Feature
from core import clock
from core.models import Customer
from metering.models import Meter

TITLE = "Northwind passed 1,000,000 API tokens"
EVENT_NAME = "hypernian_api_tokens"
CUSTOMER_EMAIL = "billing@northwind.example"


def load(*, stdout) -> None:
    load_alert(stdout=stdout)
    load_limit(stdout=stdout)


def load_alert(*, stdout) -> None:
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


LIMIT_METADATA = {"demo": "northwind_api_limit"}


def load_limit(*, stdout) -> None:
    """Northwind's API access stops at 5,000,000 tokens a month (usage limit)."""
    customer = Customer.objects.filter(email=CUSTOMER_EMAIL, deleted=False).first()
    meter = Meter.objects.filter(event_name=EVENT_NAME, status="active").first()
    feature = Feature.objects.filter(lookup_key="hypernian_api").first()
    if customer is None or meter is None or feature is None:
        return
    if UsageLimit.objects.filter(metadata__demo=LIMIT_METADATA["demo"]).exists():
        return
    usage_limit_create(
        params={
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": feature.pk,
            "usage": {"meter": meter.pk, "gte": 5_000_000},
            "metadata": LIMIT_METADATA,
        },
        livemode=customer.livemode,
        now=clock.now_for_customer(customer),
    )
    stdout.write("  usage limit: Northwind's API access up to 5,000,000 tokens")

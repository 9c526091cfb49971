"""A rate card on one meter ``tokens`` with ``model=large|small``, built through
the services, for the rate card tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from billing.services import subscription_create
from catalog.rate_cards import services as cards
from metering import services as metering
from tests.billing.factories import CustomerFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
JUN1 = datetime(2026, 6, 1, tzinfo=UTC)


def make_meter(now=APR1):
    return metering.meter_create(
        display_name="Tokens",
        event_name="tokens",
        formula="sum",
        now=now,
        livemode=False,
        dimension_payload_keys=["model"],
    )


def send(customer, value, at, model="large", now=None):
    """A ``tokens`` event at ``at``, received at ``now`` (default: then)."""
    payload = {"stripe_customer_id": customer.id, "value": str(value), "model": model}
    metering.meter_event_create(
        event_name="tokens", payload=payload, timestamp=at, now=now or at
    )


class Card:
    """A rate card with items ``large`` and ``small``; ``publish`` sets rates."""

    def __init__(self, meter, currency="usd", now=APR1):
        self.meter = meter
        self.card = cards.rate_card_create(
            params={
                "display_name": "AI plan",
                "currency": currency,
                "service_interval": "month",
            },
            now=now,
        )
        self.items = {
            model: cards.metered_item_create(
                params={
                    "display_name": f"Tokens {model}",
                    "meter": meter.id,
                    "meter_segment_conditions": [
                        {"dimension": "model", "value": model}
                    ],
                    "unit_label": "token",
                },
                now=now,
            )
            for model in ("large", "small")
        }

    def publish(self, now=APR1, **rates):
        """Set per-unit rates (minor units per token) and publish the draft."""
        for model, unit in rates.items():
            rate = cards.rate_set(
                card=self.card,
                params={
                    "metered_item": self.items[model].id,
                    "unit_amount": Decimal(unit),
                },
                now=now,
            )
        version = rate.rate_card_version
        cards.rate_card_version_publish(card=self.card, version=version, now=now)
        self.card.refresh_from_db()
        return version

    def subscribe(self, customer=None, version=None, now=APR1):
        params = {"rate_card": self.card.id}
        if version is not None:
            params["rate_card_version"] = version.id
        return subscription_create(
            customer=customer or CustomerFactory(), params=params, now=now
        )

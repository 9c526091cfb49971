"""Demo credit grants of the Hypernian example (seeds 001 and 003); idempotent."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.models import Customer
from credits.models import CreditGrant
from credits.services import credit_grant_create

DEMO_GRANTS = [
    {
        # Seed 001: Jenny Rosen's 10 USD of credits for the token meters.
        "email": "jenny.rosen@example.com",
        "name": "Hypernian starter credits",
        "value": 1_000,
        "category": CreditGrant.Category.PROMOTIONAL,
        "expires_in": None,
    },
    {
        # Seed 003's credit burndown: 100,000 USD prepaid buys 120,000 USD of
        # credits to use within a year.
        "email": "billing@northwind.example",
        "name": "Hypernian Credits (prepaid)",
        "value": 12_000_000,
        "category": CreditGrant.Category.PAID,
        "expires_in": timedelta(days=365),
    },
]


def load(*, stdout) -> None:
    for spec in DEMO_GRANTS:
        customer = Customer.objects.filter(email=spec["email"], deleted=False).first()
        if customer is None or customer.credit_grants.filter(name=spec["name"]):
            continue
        now = clock.now_for_customer(customer)
        expires_in = spec["expires_in"]
        credit_grant_create(
            customer=customer,
            name=spec["name"],
            value=spec["value"],
            currency="usd",
            category=spec["category"],
            expires_at=now + expires_in if expires_in else None,
            metadata={"demo": "true"},
            now=now,
        )
        stdout.write(f"  credit grant {spec['name']} for {customer}")

"""Demo customers of the Hypernian example (seeds 001 and 003)."""

from core.models import Customer
from core.services.customers import customer_create

DEMO_CUSTOMERS = [
    {
        "name": "Jenny Rosen",
        "email": "jenny.rosen@example.com",
        "description": "Hypernian LLM API customer (credit-based plan)",
        "address": {
            "city": "San Francisco",
            "country": "US",
            "line1": "510 Townsend St",
        },
        "metadata": {"demo": "true"},
    },
    {
        "name": "Northwind Analytics",
        "email": "billing@northwind.example",
        "description": "Hypernian Pro: fixed fee plus overage",
        "address": {"city": "Berlin", "country": "DE", "line1": "Unter den Linden 1"},
        "metadata": {"demo": "true"},
    },
]


def load(*, stdout) -> None:
    for params in DEMO_CUSTOMERS:
        if not Customer.objects.filter(email=params["email"], deleted=False).exists():
            customer_create(params=params)
            stdout.write(f"  customer {params['name']}")

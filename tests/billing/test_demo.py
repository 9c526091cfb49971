"""The demo data: subscriptions and invoices for the Hypernian customers, once."""

from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import Invoice, Subscription

pytestmark = pytest.mark.django_db


def test_demo_loads_once():
    call_command("load_demo", stdout=StringIO())
    subscriptions = Subscription.objects.count()
    invoices = Invoice.objects.count()
    assert subscriptions == 2
    assert set(Invoice.objects.values_list("status", flat=True)) >= {"open", "paid"}
    prepayment = Invoice.objects.get(billing_reason="manual")
    assert (prepayment.status, prepayment.total) == ("paid", 10_000_000)
    assert prepayment.lines.get().description == "Hypernian Credits"
    call_command("load_demo", stdout=StringIO())
    assert Subscription.objects.count() == subscriptions
    assert Invoice.objects.count() == invoices

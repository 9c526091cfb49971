"""The dashboard home: revenue per month, MRR, usage per product, top customers,
invoices waiting; figures to the cent, per mode, linked to their lists, in a
fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from billing import home, revenue, selectors
from billing.models import Invoice, InvoiceLineItem, Subscription, SubscriptionItem
from core import modes
from tests.catalog.factories import PriceFactory, ProductFactory, tiered_price
from tests.core.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


def _invoice(customer, *, status, total, finalized=None, paid=None, due=None, lines=()):
    """An invoice with ``lines`` [(kind, price, amount)], then moved to ``status``
    (lines go on a draft; the guard refuses them on a final invoice)."""
    invoice = Invoice.objects.create(
        customer=customer,
        status="draft",
        billing_reason="manual",
        collection_method="send_invoice",
        currency=customer.currency or "usd",
        period_start=NOV,
        period_end=NOV,
        livemode=customer.livemode,
    )
    for position, (kind, price, amount) in enumerate(lines):
        InvoiceLineItem.objects.create(
            invoice=invoice,
            position=position,
            kind=kind,
            amount=amount,
            currency=invoice.currency,
            period_start=NOV,
            period_end=NOV,
            price=price,
            created=NOV,
            livemode=customer.livemode,
        )
    paid_amount = total if status == "paid" else 0
    Invoice.objects.filter(pk=invoice.pk).update(
        status=status,
        total=total,
        subtotal=total,
        amount_due=total,
        amount_paid=paid_amount,
        amount_remaining=total - paid_amount,
        finalized_at=finalized,
        paid_at=paid,
        due_date=due,
        number=None if status == "draft" else f"N-{invoice.pk[-6:]}",
    )
    return invoice


def _subscription(customer, price, *, quantity, status="active"):
    subscription = Subscription.objects.create(
        customer=customer,
        status=status,
        currency=price.currency,
        interval=price.recurring_interval,
        interval_count=1,
        billing_cycle_anchor=NOV,
        anchor_day=1,
        start_date=NOV,
        current_period_start=DEC,
        current_period_end=DEC + timedelta(days=31),
    )
    SubscriptionItem.objects.create(
        subscription=subscription,
        price=price,
        quantity=quantity,
        current_period_start=DEC,
        current_period_end=DEC + timedelta(days=31),
    )


def test_revenue_per_month_counts_finalized_and_paid_not_void_nor_drafts():
    ada = CustomerFactory(name="Ada")
    euro = CustomerFactory(name="Euro", currency="eur")
    _invoice(ada, status="paid", total=10_000, finalized=NOV, paid=DEC)
    _invoice(ada, status="open", total=2_501, finalized=NOV + timedelta(days=29))
    _invoice(ada, status="void", total=99_999, finalized=NOV)
    _invoice(ada, status="draft", total=5_000)
    _invoice(ada, status="uncollectible", total=300, finalized=DEC)
    _invoice(euro, status="paid", total=700, finalized=DEC, paid=DEC)
    months = revenue.revenue_by_month(since=NOV - timedelta(days=61))
    assert [
        (row.month, row.currency, row.invoiced, row.collected) for row in months
    ] == [
        (NOV, "usd", 12_501, 0),
        (DEC, "eur", 700, 700),
        (DEC, "usd", 300, 10_000),
    ]


def test_licensed_mrr_scales_each_interval_to_a_month_and_rounds_once():
    customer = CustomerFactory()
    monthly = PriceFactory(unit_amount_decimal=Decimal(1000))
    yearly = PriceFactory(
        unit_amount_decimal=Decimal(12_000), recurring_interval="year"
    )
    weekly = PriceFactory(unit_amount_decimal=Decimal(700), recurring_interval="week")
    graduated = tiered_price(
        mode="graduated", tiers=[(5, "700", "0"), (None, "600", "0")]
    )
    metered = PriceFactory(metered=True)
    _subscription(customer, monthly, quantity=3)  # 30.00
    _subscription(customer, yearly, quantity=1)  # 120.00 / 12 = 10.00
    _subscription(customer, weekly, quantity=1)  # 7.00 × 52 / 12 = 30.333…
    _subscription(customer, graduated, quantity=6)  # 5 × 7.00 + 6.00 = 41.00
    _subscription(customer, monthly, quantity=1, status="past_due")  # 10.00
    _subscription(customer, monthly, quantity=9, status="trialing")
    _subscription(customer, monthly, quantity=9, status="canceled")
    _subscription(customer, metered, quantity=None)
    # 3,000 + 1,000 + 3,033.33… + 4,100 + 1,000 = 12,133.33… → 12,133 cents.
    assert selectors.licensed_mrr() == {"usd": 12_133}


def test_usage_revenue_per_product_and_top_customers_this_month():
    tokens, images = ProductFactory(name="Tokens"), ProductFactory(name="Images")
    token_price = PriceFactory(product=tokens, metered=True)
    image_price = PriceFactory(product=images, metered=True)
    seats = PriceFactory(product=tokens)
    ada, grace = CustomerFactory(name="Ada"), CustomerFactory(name="Grace")
    _invoice(
        ada,
        status="paid",
        total=1_500,
        finalized=DEC,
        paid=DEC,
        lines=[("metered", token_price, 1_000), ("licensed", seats, 500)],
    )
    _invoice(
        grace,
        status="open",
        total=2_000,
        finalized=DEC + timedelta(days=2),
        lines=[("metered", image_price, 1_200), ("late_usage", token_price, 800)],
    )
    _invoice(
        grace,
        status="void",
        total=9_000,
        finalized=DEC,
        lines=[("metered", image_price, 9_000)],
    )
    _invoice(
        ada,
        status="paid",
        total=4_000,
        finalized=NOV,
        paid=NOV,
        lines=[("metered", image_price, 4_000)],
    )
    end = DEC + timedelta(days=31)
    products = revenue.usage_revenue_by_product(start=DEC, end=end)
    assert [(row.name, row.amount) for row in products] == [
        ("Tokens", 1_800),
        ("Images", 1_200),
    ]
    top = revenue.top_customers_by_usage(start=DEC, end=end, limit=1)
    assert [(row.name, row.amount) for row in top] == [("Grace", 2_000)]


def test_invoices_waiting_past_due_and_drafts():
    customer = CustomerFactory()
    _invoice(
        customer, status="open", total=1_234, finalized=NOV, due=NOW - timedelta(1)
    )
    _invoice(customer, status="open", total=999, finalized=NOV, due=NOW + timedelta(1))
    _invoice(customer, status="paid", total=50, finalized=NOV, paid=NOV, due=NOV)
    _invoice(customer, status="draft", total=10)
    _invoice(customer, status="draft", total=20)
    waiting = selectors.invoices_waiting(now=NOW)
    assert (waiting.past_due_count, waiting.past_due_amounts, waiting.draft_count) == (
        1,
        {"usd": 1_234},
        2,
    )


def test_each_mode_sees_its_own_figures(admin_client):
    test_customer = CustomerFactory(name="Test Ada")
    with modes.scope(True):
        live_customer = CustomerFactory(name="Live Grace", livemode=True)
        _invoice(live_customer, status="paid", total=77_700, finalized=DEC, paid=DEC)
    _invoice(test_customer, status="paid", total=1_100, finalized=DEC, paid=DEC)
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "$11.00" in page
    assert "$777.00" not in page


def _list_ids(admin_client, url: str) -> set[str]:
    response = admin_client.get(url)
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_every_figure_links_to_the_invoices_behind_it(admin_client):
    ada = CustomerFactory(name="Ada")
    price = PriceFactory(product=ProductFactory(name="Tokens"), metered=True)
    counted = _invoice(
        ada,
        status="paid",
        total=1_000,
        finalized=DEC,
        paid=DEC + timedelta(days=1),
        lines=[("metered", price, 1_000)],
    )
    _invoice(ada, status="void", total=5, finalized=DEC)
    _invoice(ada, status="paid", total=7, finalized=NOV, paid=NOV)
    late = _invoice(ada, status="open", total=3, finalized=NOV, due=NOV)
    draft = _invoice(ada, status="draft", total=1)
    end = DEC + timedelta(days=31)
    assert _list_ids(admin_client, home.invoiced_url(DEC, end)) == {counted.pk}
    assert _list_ids(admin_client, home.collected_url(DEC, end)) == {counted.pk}
    page = admin_client.get(reverse("admin:index")).content.decode()
    for url, expected in (
        (home.invoiced_url(DEC, end), {counted.pk}),
        (
            reverse("admin:billing_invoice_changelist") + "?past_due=1",
            {late.pk},
        ),
        (
            reverse("admin:billing_invoice_changelist") + "?status__exact=draft",
            {draft.pk},
        ),
        (
            reverse("admin:billing_invoice_changelist")
            + f"?product={price.product_id}&status__in=open%2Cpaid%2Cuncollectible"
            + "&finalized_at__gte=2026-12-01&finalized_at__lt=2027-01-01",
            {counted.pk},
        ),
    ):
        assert url.replace("&", "&amp;") in page
        assert _list_ids(admin_client, url) == expected


def test_the_home_reads_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    price = PriceFactory(product=ProductFactory(name="Tokens"), metered=True)
    seats = PriceFactory()

    def grow(count: int) -> None:
        for index in range(count):
            customer = CustomerFactory(name=f"C{index}")
            _subscription(customer, seats, quantity=index + 1)
            _invoice(
                customer,
                status="paid",
                total=100,
                finalized=DEC,
                paid=DEC,
                lines=[("metered", price, 100)],
            )

    grow(2)
    admin_client.get(reverse("admin:index"))  # session, permissions, content types
    cache.clear()
    with django_assert_max_num_queries(40) as few:
        admin_client.get(reverse("admin:index"))
    grow(20)
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get(reverse("admin:index"))
    assert "Top customers by usage" in page.content.decode()


def test_the_month_aggregates_are_kept_a_minute(admin_client):
    customer = CustomerFactory()
    _invoice(customer, status="paid", total=1_100, finalized=DEC, paid=DEC)
    assert "$11.00" in admin_client.get(reverse("admin:index")).content.decode()
    _invoice(customer, status="paid", total=2_200, finalized=DEC, paid=DEC)
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "$11.00" in page
    assert "as of 12:00 UTC" in page
    with time_machine.travel(NOW + timedelta(seconds=home.CACHE_SECONDS + 1)):
        cache.clear()  # LocMem expiry follows the real clock
        assert "$33.00" in admin_client.get(reverse("admin:index")).content.decode()


def test_an_empty_home_says_what_to_do(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "No invoice finalized in the last 12 months yet" in page
    assert "No usage invoiced this month yet" in page

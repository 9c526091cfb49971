"""Dashboard: the customer's "Credit grants" panel, New credit grant, grant page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core import clock
from credits.models import CreditGrant
from credits.services import credits_apply_to_invoice
from tests.credits.factories import CustomerFactory, PriceFactory, line, make_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return CustomerFactory(name="Northwind Analytics")


def _form(customer, **overrides) -> dict:
    data = {
        "customer": customer.pk,
        "name": "Hypernian Credits",
        "amount": "120000",
        "currency": "usd",
        "expiry": "date",
        "expires_on": (clock.now() + timedelta(days=365)).date().isoformat(),
        "category": "paid",
        "priority": "50",
        "scope": "metered",
    }
    data.update(overrides)
    return data


def test_customer_page_shows_grants_balance_and_plus(admin_client, customer):
    make_grant(customer, 1_000, name="Starter", now=clock.now())
    make_grant(customer, 500, currency="eur", name="Euro credits", now=clock.now())
    page = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(customer.pk)])
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "Credit grants" in html
    assert f'data-credit-grants="{customer.pk}"' in html
    assert "$10.00" in html
    assert "€5.00" in html
    assert f"{reverse('admin:credits_creditgrant_add')}?customer={customer.pk}" in html
    assert "Starter" in html


def test_seed_003_grant_from_the_form(admin_client, customer):
    add = reverse("admin:credits_creditgrant_add")
    page = admin_client.get(f"{add}?customer={customer.pk}")
    assert page.status_code == 200
    assert "New credit grant" in page.content.decode()
    response = admin_client.post(add, _form(customer))
    grant = CreditGrant.objects.get(customer=customer)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:credits_creditgrant_change", args=[quote(grant.pk)]
    )
    expected_expiry = (clock.now() + timedelta(days=365)).date()
    assert (grant.amount, grant.currency, grant.category) == (12_000_000, "usd", "paid")
    assert grant.expires_at == datetime.combine(
        expected_expiry, datetime.min.time(), tzinfo=UTC
    )
    assert grant.balance == 12_000_000
    assert grant.scope_price_type == "metered"


def test_form_with_chosen_prices_and_never_expiring(admin_client, customer):
    price = PriceFactory()
    admin_client.post(
        reverse("admin:credits_creditgrant_add"),
        _form(
            customer,
            expiry="never",
            expires_on="",
            scope="prices",
            prices=[price.pk],
            amount="10.50",
            category="promotional",
            priority="0",
        ),
    )
    grant = CreditGrant.objects.get(customer=customer)
    assert (grant.amount, grant.expires_at, grant.scope_prices) == (
        1050,
        None,
        [price.pk],
    )
    assert (grant.category, grant.priority) == ("promotional", 0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expires_on": ""}, "Choose the day the credits expire."),
        ({"scope": "prices"}, "Choose at least one price."),
        ({"amount": "10.005"}, "USD has 2 decimal places."),
        ({"amount": "100", "currency": "jpy", "expiry": "never"}, None),
        ({"expires_on": date(2000, 1, 1).isoformat()}, "must be in the future"),
        ({"priority": "101"}, "less than or equal to 100"),
    ],
)
def test_form_errors_are_shown_and_nothing_is_written(
    admin_client, customer, overrides, message
):
    response = admin_client.post(
        reverse("admin:credits_creditgrant_add"), _form(customer, **overrides)
    )
    if message is None:
        assert response.status_code == 302
        assert CreditGrant.objects.get().amount == 100
        return
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CreditGrant.objects.exists()


def test_form_refuses_prices_in_another_currency(admin_client, customer):
    price = PriceFactory(currency="eur")
    response = admin_client.post(
        reverse("admin:credits_creditgrant_add"),
        _form(customer, scope="prices", prices=[price.pk]),
    )
    assert response.status_code == 200
    assert "the credit grant is in USD" in response.content.decode()
    assert not CreditGrant.objects.exists()


def test_grant_page_ledger_and_buttons(admin_client, customer):
    now = clock.now()
    grant = make_grant(customer, 1_000, name="Starter", now=now)
    credits_apply_to_invoice(
        customer_id=customer.pk,
        invoice_id="in_dash",
        lines=[line("il_dash", 250)],
        now=now,
    )
    url = reverse("admin:credits_creditgrant_change", args=[quote(grant.pk)])
    html = admin_client.get(url).content.decode()
    assert "Remaining" in html
    assert "$7.50" in html
    assert 'data-kind="credits_granted"' in html
    assert 'data-kind="credits_applied"' in html
    assert "in_dash" in html
    assert 'data-action="expire"' in html
    assert 'data-action="void"' in html

    response = admin_client.post(
        reverse("admin:credits_creditgrant_void", args=[quote(grant.pk)])
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert (grant.status, grant.balance) == ("voided", 0)
    html = admin_client.get(url).content.decode()
    assert 'data-kind="credits_voided"' in html
    assert 'data-action="void"' not in html
    # A second void is refused with a message, not an error page.
    response = admin_client.post(
        reverse("admin:credits_creditgrant_void", args=[quote(grant.pk)]), follow=True
    )
    assert "is voided" in response.content.decode()


def test_expire_button(admin_client, customer):
    grant = make_grant(customer, 1_000, now=clock.now())
    admin_client.post(
        reverse("admin:credits_creditgrant_expire", args=[quote(grant.pk)])
    )
    grant.refresh_from_db()
    assert (grant.status, grant.balance) == ("expired", 0)
    assert (
        admin_client.get(
            reverse("admin:credits_creditgrant_expire", args=[quote(grant.pk)])
        ).status_code
        == 405
    )


def test_lists_load(admin_client, customer):
    make_grant(customer, 1_000, now=clock.now())
    for name in (
        "admin:credits_creditgrant_changelist",
        "admin:credits_creditbalancetransaction_changelist",
    ):
        assert admin_client.get(reverse(name)).status_code == 200
    # The customer panel's "all credit grants" link filters the list.
    other = CustomerFactory()
    make_grant(other, 2_000, name="Someone else's", now=clock.now())
    page = admin_client.get(
        reverse("admin:credits_creditgrant_changelist"),
        {"customer__id__exact": customer.pk},
    )
    assert page.status_code == 200
    assert "Someone else" not in page.content.decode()


def test_pages_need_staff(client, customer):
    grant = make_grant(customer, 1_000, now=clock.now())
    response = client.post(
        reverse("admin:credits_creditgrant_void", args=[quote(grant.pk)])
    )
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    grant.refresh_from_db()
    assert grant.status == "active"

"""The credit ledger page: customer column and filter, running balance, linked from
the customer page."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from tests.credits.factories import CustomerFactory, make_grant

pytestmark = pytest.mark.django_db

LEDGER = "admin:credits_creditbalancetransaction_changelist"


def test_one_customers_ledger_with_its_running_balance(
    admin_client, django_assert_max_num_queries
):
    ada, bob = CustomerFactory(name="Ada"), CustomerFactory(name="Bob")
    make_grant(ada, 1000)
    make_grant(ada, 550)
    make_grant(bob, 7000)
    with django_assert_max_num_queries(12):
        page = admin_client.get(reverse(LEDGER), {"customer": ada.pk})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Balance after" in html
    assert "$10.00" in html
    assert "$15.50" in html
    assert "$70.00" not in html
    assert "Bob" not in html
    assert html.count(">Ada<") >= 2


def test_the_whole_ledger_has_a_customer_column_and_search(admin_client):
    ada, bob = CustomerFactory(name="Ada"), CustomerFactory(name="Bob")
    make_grant(ada, 1000)
    make_grant(bob, 7000)
    html = admin_client.get(reverse(LEDGER)).content.decode()
    assert ">Ada<" in html
    assert ">Bob<" in html
    found = admin_client.get(reverse(LEDGER), {"q": "Bob"}).content.decode()
    assert ">Ada<" not in found
    assert "$70.00" in found


def test_the_customer_page_links_to_its_ledger(admin_client):
    ada = CustomerFactory(name="Ada")
    make_grant(ada, 1000)
    page = admin_client.get(reverse("admin:core_customer_change", args=[quote(ada.pk)]))
    assert f"{reverse(LEDGER)}?customer={ada.pk}" in page.content.decode()

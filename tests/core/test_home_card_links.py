"""Every figure on the dashboard home opens the list behind it, filtered as the
figure counts (an unknown filter would send the admin back with ``?e=1``)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from core import dashboard

pytestmark = pytest.mark.django_db


def _url(card) -> str:
    if callable(card.url):
        return card.url(RequestFactory().get("/admin/"))
    return card.url if card.url.startswith("/") else reverse(card.url)


@pytest.mark.parametrize("card", dashboard.home_cards(), ids=lambda card: card.name)
def test_each_home_figure_opens_its_filtered_list(admin_client, card):
    url = _url(card)
    assert url, f"{card.name} links nowhere"
    response = admin_client.get(url)
    assert response.status_code == 200, url
    filtered = {
        "active_subscriptions": "status__in=active",
        "products": "status=active",
        "meters": "status__exact=active",
        "events": "created__gte=",
        "open_invoices": "status__exact=open",
    }
    assert filtered.get(card.name, "") in url

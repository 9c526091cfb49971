"""Dashboard and customer pages: live access, usage limits, features."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from alerts.models import UsageLimit
from alerts.services.limits import limits_evaluate
from alerts.services.usage_limits import usage_limit_create
from catalog.models import Feature, ProductFeature
from core import clock
from core.services.portal import portal_session_create
from tests.alerts.factories import CustomerFactory, report
from tests.alerts.limits_helpers import d, features_of, make_plan, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    return make_plan()


@pytest.fixture
def customer(plan):
    customer = CustomerFactory(name="Northwind Analytics", invoice_prefix="DSH")
    subscribe(customer, plan.price)
    return customer


def cut(customer, plan):
    limit = usage_limit_create(
        params={
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": "api",
            "usage": {"meter": plan.meter.pk, "gte": 100},
        },
        livemode=False,
        now=d(4, 2),
    )
    report(meter=plan.meter, customer=customer, value=130, now=d(4, 3))
    limits_evaluate(now=d(4, 3, 1))
    return limit


def test_customer_page_shows_access_and_the_json_tells_why_a_limit_cut_it(
    admin_client, plan, customer
):
    page = admin_client.get(
        reverse("admin:core_customer_change", args=[quote(customer.pk)])
    )
    html = page.content.decode()
    assert f'data-access="{customer.pk}"' in html
    assert "data-access-live" in html
    limit = cut(customer, plan)
    url = reverse("admin:alerts_usagelimit_access", args=[quote(customer.pk)])
    data = admin_client.get(url).json()
    assert data["access"]["features"] == []
    (shown,) = data["cuts"]
    assert (shown["limit"], shown["feature"], shown["value"], shown["level"]) == (
        limit.pk,
        "api",
        130,
        100,
    )
    assert shown["cut_at"] == int(d(4, 3, 1).timestamp())
    assert shown["lifted_at"] is None


def test_the_access_json_is_for_staff_only(client, customer):
    url = reverse("admin:alerts_usagelimit_access", args=[quote(customer.pk)])
    assert client.get(url).status_code == 302  # to the login page


def test_staff_create_a_limit_and_raise_its_level(admin_client, plan, customer):
    add = reverse("admin:alerts_usagelimit_add")
    response = admin_client.post(
        add,
        {
            "customer": customer.pk,
            "feature": plan.feature.pk,
            "limit_type": "usage",
            "meter": plan.meter.pk,
            "gte": "100",
        },
    )
    limit = UsageLimit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:alerts_usagelimit_change", args=[quote(limit.pk)]
    )
    report(meter=plan.meter, customer=customer, value=100, now=d(4, 3))
    limits_evaluate(now=d(4, 3, 1))
    assert features_of(customer) == []
    detail = admin_client.get(response["Location"]).content.decode()
    assert "Still cut" in detail
    admin_client.post(response["Location"], {"level": "1000"})
    limit.refresh_from_db()
    assert limit.gte == 1000
    assert features_of(customer) == ["api"]


def test_staff_limit_form_shows_service_refusals(admin_client, plan, customer):
    response = admin_client.post(
        reverse("admin:alerts_usagelimit_add"),
        {
            "customer": customer.pk,
            "feature": plan.feature.pk,
            "limit_type": "monetary",
            "currency": "eur",
            "amount_gte": "100",
        },
    )
    assert response.status_code == 200
    assert "must be one the customer is billed in" in response.content.decode()
    assert not UsageLimit.objects.exists()


def test_staff_create_features_and_attach_them(admin_client, plan):
    admin_client.post(
        reverse("admin:catalog_feature_add"),
        {"name": "Exports", "lookup_key": "exports", "active": "on"},
    )
    feature = Feature.objects.get(lookup_key="exports")
    duplicate = admin_client.post(
        reverse("admin:catalog_feature_add"),
        {"name": "Again", "lookup_key": "exports", "active": "on"},
    )
    assert duplicate.status_code == 200
    assert Feature.objects.filter(lookup_key="exports").count() == 1
    admin_client.post(
        reverse("admin:catalog_productfeature_add"),
        {"product": plan.price.product_id, "feature": feature.pk},
    )
    assert ProductFeature.objects.filter(feature=feature).exists()


def test_the_customer_page_shows_access_and_serves_its_json(plan, customer):
    cut(customer, plan)
    url = portal_session_create(customer=customer, now=clock.now()).url
    client = Client()
    html = client.get(url).content.decode()
    assert "data-access-live" in html
    data = client.get(f"{url}access.json").json()
    assert data["access"]["features"] == []
    assert data["access"]["usage"][0]["limits"][0]["crossed"] is True
    assert "cuts" not in data

"""``/v1/billing/usage_limits`` and ``/v1/entitlements/check`` over HTTP."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from alerts.models import UsageLimit, UsageLimitCrossing
from alerts.services.limits import limits_evaluate
from core.models import Event
from core.services.api_keys import api_key_create
from tests.alerts.factories import CustomerFactory, MeterFactory, report
from tests.alerts.limits_helpers import d, make_plan, subscribe
from tests.helpers import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    return make_plan()


@pytest.fixture
def customer(plan):
    customer = CustomerFactory(invoice_prefix="API", currency="usd")
    subscribe(customer, plan.price)
    return customer


def usage_params(owner, plan, **overrides):
    params = {
        "limit_type": "usage",
        "customer": owner.pk,
        "feature": "api",
        "usage": {"meter": plan.meter.pk, "gte": 100},
    }
    params.update(overrides)
    return params


def test_create_retrieve_update_list_and_deactivate(api, plan, customer):
    response = api.post("/v1/billing/usage_limits", usage_params(customer, plan))
    assert response.status_code == 200, response.json()
    limit = response.json()
    assert limit["id"].startswith("ulim_")
    assert limit["object"] == "billing.usage_limit"
    assert (limit["feature"], limit["limit_type"], limit["status"]) == (
        plan.feature.pk,
        "usage",
        "active",
    )
    assert limit["usage"] == {"meter": plan.meter.pk, "gte": 100}
    assert limit["monetary"] is None
    path = f"/v1/billing/usage_limits/{limit['id']}"
    shown = api.get(path, {"expand": ["feature"]}).json()
    assert shown["feature"]["lookup_key"] == "api"
    updated = api.post(path, {"usage": {"gte": 500}, "metadata": {"a": "b"}}).json()
    assert (updated["usage"]["gte"], updated["metadata"]) == (500, {"a": "b"})
    listed = api.get("/v1/billing/usage_limits", {"customer": customer.pk}).json()
    assert [row["id"] for row in listed["data"]] == [limit["id"]]
    off = api.post(f"{path}/deactivate").json()
    assert off["status"] == "inactive"
    assert api.post(f"{path}/activate").json()["status"] == "active"


def test_a_live_key_sees_no_test_limit(api, plan, customer):
    limit = api.post("/v1/billing/usage_limits", usage_params(customer, plan)).json()
    _, live_secret = api_key_create(name="live", livemode=True)
    live = ApiClient(Client(), live_secret)
    assert live.get(f"/v1/billing/usage_limits/{limit['id']}").status_code == 404
    assert live.get("/v1/billing/usage_limits").json()["data"] == []
    assert live.get("/v1/entitlements/features").json()["data"] == []
    refused = live.post("/v1/billing/usage_limits", usage_params(customer, plan))
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "customer"


BAD_INPUTS = [
    ({"feature": "no_such_feature"}, "feature", 400),
    ({"feature": "feat_missing"}, "feature", 400),
    ({"usage": {"meter": "METER", "gte": 0}}, "usage[gte]", 400),
    ({"usage": {"meter": "METER", "gte": -5}}, "usage[gte]", 400),
    ({"usage": {"meter": "LAST", "gte": 5}}, "usage[meter]", 400),
    ({"usage": {"meter": "mtr_missing", "gte": 5}}, "usage[meter]", 400),
    ({"usage": {"gte": 5}}, "usage[meter]", 400),
    ({"customer": "cus_missing"}, "customer", 400),
    (
        {
            "limit_type": "monetary",
            "usage": None,
            "monetary": {"currency": "eur", "amount_gte": 1000},
        },
        "monetary[currency]",
        400,
    ),
    (
        {
            "limit_type": "monetary",
            "usage": None,
            "monetary": {"currency": "usd", "amount_gte": 0},
        },
        "monetary[amount_gte]",
        400,
    ),
    ({"limit_type": "spend"}, "limit_type", 400),
]


@pytest.mark.parametrize(("overrides", "param", "status"), BAD_INPUTS)
def test_bad_input_is_refused_and_nothing_is_written(
    api, plan, customer, overrides, param, status
):
    last = MeterFactory(formula="last", event_name="gauge")
    overrides = copy.deepcopy(overrides)
    usage = overrides.get("usage")
    if usage and usage.get("meter") in ("METER", "LAST"):
        usage["meter"] = plan.meter.pk if usage["meter"] == "METER" else last.pk
    params = {
        key: value
        for key, value in usage_params(customer, plan, **overrides).items()
        if value is not None
    }
    events = Event.objects.count()
    response = api.post("/v1/billing/usage_limits", params)
    assert response.status_code == status, response.json()
    assert response.json()["error"]["param"] == param
    assert UsageLimit.objects.count() == 0
    assert Event.objects.count() == events


def test_a_limit_on_a_licensed_price_is_refused(api, customer):
    from tests.alerts.factories import PriceFactory

    licensed = PriceFactory()
    response = api.post(
        "/v1/billing/usage_limits",
        {
            "limit_type": "usage",
            "price": licensed.pk,
            "feature": "api",
            "usage": {"gte": 5},
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "price"
    assert UsageLimit.objects.count() == 0


def test_check_answers_features_usage_limits_and_credits(api, plan, customer):
    limit = api.post("/v1/billing/usage_limits", usage_params(customer, plan)).json()
    report(meter=plan.meter, customer=customer, value=40, now=d(4, 3))
    limits_evaluate(now=d(4, 3, 1), customer_ids=[customer.pk])
    response = api.get("/v1/entitlements/check", {"customer": customer.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "entitlements.check"
    assert body["features"] == ["api"]
    assert body["as_of"] == int(d(4, 3, 1).timestamp())
    (usage,) = body["usage"]
    assert (usage["meter"], usage["value"]) == (plan.meter.pk, 40)
    (shown,) = usage["limits"]
    assert (shown["id"], shown["gte"], shown["remaining"], shown["crossed"]) == (
        limit["id"],
        100,
        60,
        False,
    )
    assert body["credits"] == []
    assert response["Cache-Control"] == "private, max-age=2"
    etag = response["ETag"]
    again = api.get(
        "/v1/entitlements/check", {"customer": customer.pk}, {"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again["ETag"] == etag

    report(meter=plan.meter, customer=customer, value=60, now=d(4, 4))
    limits_evaluate(now=d(4, 4, 1), customer_ids=[customer.pk])
    changed = api.get(
        "/v1/entitlements/check", {"customer": customer.pk}, {"If-None-Match": etag}
    )
    assert changed.status_code == 200
    body = changed.json()
    assert body["features"] == []
    assert body["usage"][0]["limits"][0]["crossed"] is True
    assert body["usage"][0]["limits"][0]["remaining"] == 0
    assert UsageLimitCrossing.objects.count() == 1


def test_check_computes_a_missing_snapshot_and_refuses_unknown_customers(api):
    customer = CustomerFactory(invoice_prefix="NEW")
    body = api.get("/v1/entitlements/check", {"customer": customer.pk}).json()
    assert (body["customer"], body["features"], body["usage"]) == (
        customer.pk,
        [],
        [],
    )
    missing = api.get("/v1/entitlements/check", {"customer": "cus_missing"})
    assert missing.status_code == 404
    assert missing.json()["error"]["param"] == "customer"

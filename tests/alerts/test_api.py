"""``/v1/billing/alerts``: shapes, filters, the status machine, and refusals."""

from __future__ import annotations

import pytest
import time_machine

from alerts.models import Alert
from core.models import Event
from metering.services import meter_deactivate
from tests.alerts.factories import T0, CustomerFactory, MeterFactory, make_alert
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

ALERTS = "/v1/billing/alerts"


@pytest.fixture
def frozen():
    """Real time stands still at T0 (the API reads the clock itself)."""
    with time_machine.travel(T0, tick=False):
        yield T0


@pytest.fixture
def meter(frozen):
    return MeterFactory(display_name="API tokens", event_name="api_tokens")


@pytest.fixture
def customer(frozen):
    return CustomerFactory()


def params(meter, customer=None, **overrides) -> dict:
    threshold = {"gte": 1000, "meter": meter.pk, "recurrence": "one_time"}
    if customer is not None:
        threshold["filters"] = [{"type": "customer", "customer": customer.pk}]
    body = {
        "alert_type": "usage_threshold",
        "title": "1,000 API tokens",
        "usage_threshold": threshold,
    }
    body.update(overrides)
    return body


def test_create_and_retrieve_in_stripes_shape(api, meter, customer):
    response = api.post(ALERTS, params(meter, customer))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body.pop("id").startswith("alrt_")
    assert body == {
        "object": "billing.alert",
        "alert_type": "usage_threshold",
        "livemode": False,
        "status": "active",
        "title": "1,000 API tokens",
        "usage_threshold": {
            "filters": [{"customer": customer.pk, "type": "customer"}],
            "gte": 1000,
            "meter": meter.pk,
            "recurrence": "one_time",
        },
        "credit_balance_threshold": None,
    }
    alert = Alert.objects.get()
    assert alert.created == T0
    fetched = api.get(f"{ALERTS}/{alert.pk}").json()
    assert fetched == {"id": alert.pk, **body}


def test_without_filter_the_alert_applies_to_everyone(api, meter):
    body = api.post(ALERTS, params(meter)).json()
    assert body["usage_threshold"]["filters"] is None
    assert Alert.objects.get().customer is None


def test_retrieve_can_expand_the_meter(api, meter):
    alert = make_alert(meter=meter)
    body = api.get(f"{ALERTS}/{alert.pk}", {"expand": ["usage_threshold.meter"]}).json()
    assert body["usage_threshold"]["meter"]["id"] == meter.pk
    assert body["usage_threshold"]["meter"]["object"] == "billing.meter"


def test_list_filters_and_hides_archived(api, meter, customer):
    other_meter = MeterFactory()
    everyone = make_alert(meter=meter, title="everyone")
    mine = make_alert(meter=meter, customer=customer, title="mine")
    elsewhere = make_alert(meter=other_meter, title="elsewhere")
    archived = make_alert(meter=meter, title="archived")
    api.post(f"{ALERTS}/{archived.pk}/archive")

    def ids(query=None):
        body = api.get(ALERTS, query).json()
        assert body["object"] == "list"
        assert body["url"] == ALERTS
        return {alert["id"] for alert in body["data"]}

    assert ids() == {everyone.pk, mine.pk, elsewhere.pk}
    assert ids({"meter": meter.pk}) == {everyone.pk, mine.pk}
    assert ids({"customer": customer.pk}) == {mine.pk}
    assert ids({"alert_type": "usage_threshold", "limit": 100}) == {
        everyone.pk,
        mine.pk,
        elsewhere.pk,
    }
    page = api.get(ALERTS, {"limit": 2}).json()
    assert page["has_more"] is True
    rest = api.get(ALERTS, {"starting_after": page["data"][-1]["id"]}).json()
    assert len(page["data"]) + len(rest["data"]) == 3


@pytest.mark.parametrize(
    ("path", "start", "expected"),
    [
        ("deactivate", "active", "inactive"),
        ("activate", "inactive", "active"),
        ("activate", "active", "active"),
        ("deactivate", "inactive", "inactive"),
        ("archive", "active", "archived"),
        ("archive", "inactive", "archived"),
    ],
)
def test_status_machine(api, meter, path, start, expected):
    alert = make_alert(meter=meter)
    Alert.objects.filter(pk=alert.pk).update(status=start)
    body = api.post(f"{ALERTS}/{alert.pk}/{path}").json()
    assert body["status"] == expected
    alert.refresh_from_db()
    assert alert.status == expected


@pytest.mark.parametrize("path", ["activate", "deactivate", "archive"])
def test_archived_is_final(api, meter, path):
    alert = make_alert(meter=meter)
    api.post(f"{ALERTS}/{alert.pk}/archive")
    response = api.post(f"{ALERTS}/{alert.pk}/{path}")
    assert response.status_code == 400
    assert "archived" in error_of(response)["message"]
    assert Alert.objects.get().status == "archived"


def test_unknown_alert_is_404(api, frozen):
    for response in (
        api.get(f"{ALERTS}/alrt_missing"),
        api.post(f"{ALERTS}/alrt_missing/activate"),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "resource_missing"


def _refusal(api, body):
    response = api.post(ALERTS, body)
    assert response.status_code == 400, response.json()
    return error_of(response)


def test_refuses_unknown_and_inactive_meters(api, meter, frozen):
    error = _refusal(
        api,
        params(
            meter,
            usage_threshold={"gte": 5, "meter": "mtr_x", "recurrence": "one_time"},
        ),
    )
    assert (error["param"], error["code"]) == (
        "usage_threshold[meter]",
        "resource_missing",
    )
    meter_deactivate(meter=meter, now=T0)
    error = _refusal(api, params(meter))
    assert error["param"] == "usage_threshold[meter]"
    assert "inactive" in error["message"]


def test_refuses_unknown_customers(api, meter, customer):
    body = params(meter)
    body["usage_threshold"]["filters"] = [{"type": "customer", "customer": "cus_x"}]
    error = _refusal(api, body)
    assert (error["param"], error["code"]) == (
        "usage_threshold[filters][0][customer]",
        "resource_missing",
    )


@pytest.mark.parametrize(
    ("gte", "code"),
    [
        ("0", "parameter_invalid"),
        ("-5", "parameter_invalid"),
        ("1.5", "parameter_invalid_integer"),
        ("lots", "parameter_invalid_integer"),
        ("", "parameter_invalid_integer"),
        ("¹", "parameter_invalid_integer"),  # a digit to str.isdigit, not to int()
    ],
)
def test_refuses_thresholds_that_are_not_positive_integers(api, meter, gte, code):
    body = params(meter)
    body["usage_threshold"]["gte"] = gte
    error = _refusal(api, body)
    assert (error["param"], error["code"]) == ("usage_threshold[gte]", code)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"alert_type": "spend_threshold"}, "alert_type"),
        ({"title": ""}, "title"),
        ({"title": "x" * 257}, "title"),
        ({"usage_threshold": None}, "usage_threshold"),
        ({"color": "red"}, "color"),
    ],
)
def test_refuses_bad_top_level_params(api, meter, change, param):
    body = params(meter)
    body.update(change)
    if body["usage_threshold"] is None:
        del body["usage_threshold"]
    assert _refusal(api, body)["param"] == param


@pytest.mark.parametrize(
    ("threshold", "param"),
    [
        ({"recurrence": "daily"}, "usage_threshold[recurrence]"),
        ({"recurrence": None}, "usage_threshold[recurrence]"),
        ({"meter": None}, "usage_threshold[meter]"),
        (
            {"filters": [{"type": "tier", "customer": "cus_x"}]},
            "usage_threshold[filters][0][type]",
        ),
        ({"filters": [{"type": "customer"}]}, "usage_threshold[filters][0][customer]"),
        (
            {
                "filters": [
                    {"type": "customer", "customer": "cus_a"},
                    {"type": "customer", "customer": "cus_b"},
                ]
            },
            "usage_threshold[filters]",
        ),
    ],
)
def test_refuses_bad_usage_threshold_params(api, meter, threshold, param):
    body = params(meter)
    body["usage_threshold"].update(threshold)
    body["usage_threshold"] = {
        key: value
        for key, value in body["usage_threshold"].items()
        if value is not None
    }
    assert _refusal(api, body)["param"] == param


def test_at_most_25_alerts_per_meter_and_customer(api, meter, customer):
    other = CustomerFactory()
    for _ in range(20):
        make_alert(meter=meter, customer=customer)
    for _ in range(5):
        make_alert(meter=meter)
    # The 5 alerts for everyone count for each customer: the 26th is refused...
    error = _refusal(api, params(meter, customer))
    assert error["param"] == "usage_threshold[meter]"
    assert "25" in error["message"]
    # ...for that customer and for everyone, but not for another customer.
    assert _refusal(api, params(meter))["param"] == "usage_threshold[meter]"
    assert api.post(ALERTS, params(meter, other)).status_code == 200
    # Another meter has its own 25; archiving one makes room again.
    assert api.post(ALERTS, params(MeterFactory(), customer)).status_code == 200
    oldest = Alert.objects.filter(meter=meter, customer=customer).first()
    api.post(f"{ALERTS}/{oldest.pk}/archive")
    assert api.post(ALERTS, params(meter, customer)).status_code == 200


def test_creating_an_alert_records_no_event(api, meter):
    api.post(ALERTS, params(meter))
    assert not Event.objects.filter(type__startswith="billing.alert").exists()

"""Live and test modes: a key sees, lists and writes its own mode's objects only;
side effects (jobs, events, webhooks, idempotency, test clocks, meter events, the
bulk import, customer pages) keep the mode of what caused them. The worlds are
built in ``tests/core/modes_world.py``; every route is checked in
``test_modes_routes.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from billing.models import Invoice
from core.models import Event, WebhookDelivery
from core.services.api_keys import api_key_create
from tests.core.modes_world import (
    leaks,
    livemodes,
    ok,
)
from tests.helpers import ApiClient


def test_objects_made_with_a_live_key_are_live_side_effects_included(worlds):
    live, live_world, _, _ = worlds
    invoice = Invoice.objects.get(pk=live_world["invoice"])
    assert invoice.livemode is True
    assert {line.livemode for line in invoice.lines.all()} == {True}
    assert set(
        Event.objects.filter(object_id=live_world["invoice"]).values_list(
            "livemode", flat=True
        )
    ) == {True}
    body = ok(live.get(f"/v1/invoices/{live_world['invoice']}"))
    assert body["livemode"] is True
    assert body["lines"]["data"][0]["livemode"] is True


def test_a_period_close_job_bills_a_live_subscription_in_live_mode(worlds):
    from billing.services.period_close import subscriptions_close_due

    _, live_world, _, test_world = worlds
    later = datetime(2026, 6, 2, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        assert subscriptions_close_due(now=later) >= 2
    for world, livemode in ((live_world, True), (test_world, False)):
        invoices = Invoice.objects.filter(subscription_id=world["subscription"])
        assert invoices.count() == 2
        assert {invoice.livemode for invoice in invoices} == {livemode}
        for invoice in invoices:
            assert {line.livemode for line in invoice.lines.all()} == {livemode}


def test_events_and_webhooks_stay_in_their_mode(worlds):
    live, live_world, test, test_world = worlds
    for api in (live, test):  # with both endpoints listening
        ok(api.post("/v1/customers", {"name": "Later"}))
    for api, world, livemode in ((live, live_world, True), (test, test_world, False)):
        events = ok(api.get("/v1/events", {"limit": 100}))["data"]
        assert events
        assert {event["livemode"] for event in events} == {livemode}
        deliveries = WebhookDelivery.objects.filter(
            endpoint_id=world["webhook_endpoint"]
        )
        assert deliveries.exists()
        assert set(deliveries.values_list("event__livemode", flat=True)) == {livemode}
        endpoint = ok(api.get(f"/v1/webhook_endpoints/{world['webhook_endpoint']}"))
        assert endpoint["livemode"] is livemode


def test_idempotency_keys_belong_to_their_key(worlds):
    live, _, test, _ = worlds
    headers = {"Idempotency-Key": "same-key-both-modes"}
    first = ok(live.post("/v1/customers", {"name": "A"}, headers=headers))
    second = ok(test.post("/v1/customers", {"name": "A"}, headers=headers))
    assert first["id"] != second["id"]
    assert (first["livemode"], second["livemode"]) == (True, False)
    replay = live.post("/v1/customers", {"name": "A"}, headers=headers)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first["id"]


def test_test_clocks_are_test_mode_only(worlds):
    live, live_world, test, test_world = worlds
    for method, path in (
        ("get", "/v1/test_helpers/test_clocks"),
        ("post", "/v1/test_helpers/test_clocks"),
        ("get", f"/v1/test_helpers/test_clocks/{test_world['test_clock']}"),
        ("post", f"/v1/test_helpers/test_clocks/{test_world['test_clock']}/advance"),
    ):
        response = getattr(live, method)(path)
        assert response.status_code == 400, path
        assert response.json()["error"]["type"] == "invalid_request_error"
    # A live customer cannot be attached to a clock: the clock is not there.
    response = live.post(
        "/v1/customers", {"name": "x", "test_clock": test_world["test_clock"]}
    )
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "test_clock"


def test_meter_events_match_their_modes_meter(worlds):
    live, live_world, test, test_world = worlds
    # Both modes have an active "tokens" meter; each key's events go to its own.
    for api, world in ((live, live_world), (test, test_world)):
        body = ok(
            api.post(
                "/v1/billing/meter_events",
                {
                    "event_name": "tokens",
                    "payload": {"stripe_customer_id": world["customer"], "value": "7"},
                },
            )
        )
        assert body["livemode"] is (world is live_world)
    from metering.models import MeterEvent

    for world, livemode in ((live_world, True), (test_world, False)):
        events = MeterEvent.objects.filter(customer_id=world["customer"])
        assert {event.meter_id for event in events} == {world["meter"]}
        assert {event.livemode for event in events} == {livemode}


def test_v2_sessions_and_the_stream_keep_the_keys_mode(worlds):
    live, live_world, test, test_world = worlds
    for api, world, livemode in ((live, live_world, True), (test, test_world, False)):
        session = ok(api.post_json("/v2/billing/meter_event_session", {}))
        assert session["livemode"] is livemode
        stream = ApiClient(Client(), session["authentication_token"])
        other = test_world if livemode else live_world
        refused = stream.post_json(
            "/v2/billing/meter_event_stream",
            {
                "events": [
                    {
                        "event_name": "tokens",
                        "payload": {
                            "stripe_customer_id": other["customer"],
                            "value": "1",
                        },
                    }
                ]
            },
        )
        assert refused.status_code == 400, refused.content
        accepted = stream.post_json(
            "/v2/billing/meter_event_stream",
            {
                "events": [
                    {
                        "event_name": "tokens",
                        "identifier": f"v2-{livemode}",
                        "payload": {
                            "stripe_customer_id": world["customer"],
                            "value": "1",
                        },
                    }
                ]
            },
        )
        assert accepted.status_code == 200, accepted.content
        from metering.models import MeterEvent

        event = MeterEvent.objects.get(identifier=f"v2-{livemode}")
        assert (event.livemode, event.meter_id) == (livemode, world["meter"])


def test_the_stripe_sdk_with_a_live_key(live_server, transactional_db):
    import stripe

    _, live_secret = api_key_create(name="sdk live", livemode=True)
    _, test_secret = api_key_create(name="sdk test")
    base = {"api": live_server.url, "meter_events": live_server.url}
    live = stripe.StripeClient(live_secret, base_addresses=base, max_network_retries=0)
    test = stripe.StripeClient(test_secret, base_addresses=base, max_network_retries=0)
    test_customer = test.v1.customers.create(params={"name": "Test Jenny"})
    live_customer = live.v1.customers.create(params={"name": "Live Jenny"})
    assert (live_customer.livemode, test_customer.livemode) == (True, False)
    assert [c.id for c in live.v1.customers.list().auto_paging_iter()] == [
        live_customer.id
    ]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        live.v1.customers.retrieve(test_customer.id)
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert f"No such customer: '{test_customer.id}'" in str(missing.value)
    with pytest.raises(stripe.InvalidRequestError):
        live.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_777_636_800})


def test_json_answers_never_mix_modes_in_nested_objects(worlds):
    live, live_world, _, test_world = worlds
    body = ok(
        live.get(
            f"/v1/invoices/{live_world['invoice']}",
            {"expand": ["customer"]},
        )
    )
    assert livemodes(body) == {True}
    assert not leaks(json.dumps(body), test_world)


def test_the_bulk_import_records_one_modes_events(worlds, tmp_path):
    import io

    from django.core.management import call_command

    from metering.models import MeterEvent

    _, live_world, _, test_world = worlds
    path = tmp_path / "usage.ndjson"
    path.write_text(
        "\n".join(
            json.dumps(
                {
                    "event_name": "tokens",
                    "identifier": f"import-{world['customer']}",
                    "payload": {"stripe_customer_id": world["customer"], "value": "3"},
                }
            )
            for world in (live_world, test_world)
        )
        + "\n"
    )
    out = io.StringIO()
    call_command(
        "import_meter_events", str(path), "--live", "--no-progress", stdout=out
    )
    assert "Accepted 1, already imported 0, rejected 1." in out.getvalue()
    event = MeterEvent.objects.get(identifier=f"import-{live_world['customer']}")
    assert (event.livemode, event.meter_id) == (True, live_world["meter"])


def test_customer_pages_reach_their_customers_mode_only(worlds, client):
    from core import clock
    from core.models import Customer
    from core.services.portal import portal_session_create

    _, live_world, _, test_world = worlds
    customer = Customer.objects.get(pk=live_world["customer"])
    url = portal_session_create(customer=customer, now=clock.now()).url
    overview = client.get(url)
    assert overview.status_code == 200
    assert not leaks(overview.content.decode(), test_world)
    assert client.get(f"{url}usage/{live_world['meter']}/").status_code == 200
    assert client.get(f"{url}usage/{test_world['meter']}/").status_code == 404
    assert client.get(f"{url}invoices/{live_world['invoice']}/").status_code == 200
    assert client.get(f"{url}invoices/{test_world['invoice']}/").status_code == 404


def test_the_same_meter_event_in_both_modes_is_recorded_once_in_each(worlds):
    from metering.models import MeterEvent

    live, live_world, test, test_world = worlds

    def send(api, world):
        return api.post(
            "/v1/billing/meter_events",
            {
                "event_name": "tokens",
                "identifier": "mirrored-1",
                "payload": {"stripe_customer_id": world["customer"], "value": "2"},
            },
        )

    assert send(live, live_world).status_code == 200
    assert send(test, test_world).status_code == 200
    again = send(live, live_world)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "duplicate_meter_event"
    stored = MeterEvent.objects.filter(identifier="mirrored-1")
    assert sorted(stored.values_list("livemode", flat=True)) == [False, True]

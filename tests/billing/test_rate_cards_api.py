"""``/v2/billing/metered_items``, ``/v2/billing/rate_cards`` (+ versions, rates) and
``/v2/billing/rate_card_migrations``: Stripe's v2 shapes, and bad input refused
with a 4xx in the v2 envelope and nothing written."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from billing.models import RateCardMigration, Subscription
from catalog.models import MeteredItem, RateCard, RateCardRate, RateCardVersion
from core.services.api_keys import api_key_create
from tests.billing.factories import CustomerFactory
from tests.billing.rate_card_fixtures import APR1, MAY1, Card, make_meter, send
from tests.billing.test_preview_equals_invoice import close_and_finalize
from tests.helpers import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(APR1, tick=False):
        yield


@pytest.fixture
def meter(frozen):
    return make_meter()


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def refused(response, status=400, code=None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"type", "code", "message"}
    if code:
        assert error["code"] == code, error
    return error


def counts():
    return (
        MeteredItem.objects.count(),
        RateCard.objects.count(),
        RateCardVersion.objects.count(),
        RateCardRate.objects.count(),
        RateCardMigration.objects.count(),
    )


def item(api, meter, name, **conditions):
    return ok(
        api.post_json(
            "/v2/billing/metered_items",
            {
                "display_name": name,
                "meter": meter.id,
                "meter_segment_conditions": [
                    {"dimension": k, "value": v} for k, v in conditions.items()
                ],
                "unit_label": "token",
            },
        )
    )


def card(api, currency="usd"):
    return ok(
        api.post_json(
            "/v2/billing/rate_cards",
            {
                "display_name": "AI plan",
                "currency": currency,
                "service_interval": "month",
                "service_interval_count": 1,
            },
        )
    )


def test_set_rates_publish_and_read_back(api, meter):
    large = item(api, meter, "Large", model="large")
    small = item(api, meter, "Small", model="small")
    assert large["object"] == "v2.billing.metered_item"
    assert large["meter_segment_conditions"] == [
        {"dimension": "model", "value": "large"}
    ]
    assert large["created"] == "2026-04-01T00:00:00.000Z"
    made = card(api)
    assert made["object"] == "v2.billing.rate_card"
    assert made["latest_version"] is None
    base = f"/v2/billing/rate_cards/{made['id']}"
    per_unit = ok(
        api.post_json(
            f"{base}/rates", {"metered_item": large["id"], "unit_amount": "0.5"}
        )
    )
    tiered = ok(
        api.post_json(
            f"{base}/rates",
            {
                "metered_item": small["id"],
                "tiering_mode": "graduated",
                "tiers": [
                    {"up_to_decimal": "1000", "unit_amount": "0", "flat_amount": "100"},
                    {"up_to_inf": "inf", "unit_amount": "0.1"},
                ],
            },
        )
    )
    assert per_unit["object"] == "v2.billing.rate_card_rate"
    assert per_unit["unit_amount"] == "0.5"
    assert per_unit["metered_item"]["id"] == large["id"]
    assert tiered["tiering_mode"] == "graduated"
    assert tiered["tiers"][1] == {
        "flat_amount": None,
        "unit_amount": "0.1",
        "up_to_decimal": None,
        "up_to_inf": "inf",
    }
    version = per_unit["rate_card_version"]
    assert tiered["rate_card_version"] == version
    shown = ok(api.get(f"{base}/versions/{version}"))
    assert shown["status"] == "draft"
    published = ok(api.post_json(f"{base}/versions/{version}/publish", {}))
    assert published["status"] == "published"
    assert published["published_at"] == "2026-04-01T00:00:00.000Z"
    after = ok(api.get(base))
    assert after["latest_version"] == after["live_version"] == version
    rates = ok(api.get(f"{base}/rates"))
    assert {rate["id"] for rate in rates["data"]} == {per_unit["id"], tiered["id"]}
    assert rates["next_page_url"] is None
    assert ok(api.get(f"{base}/rates/{tiered['id']}")) == tiered
    # A change goes to a new draft, which starts as a copy of the latest version.
    changed = ok(
        api.post_json(
            f"{base}/rates", {"metered_item": large["id"], "unit_amount": "1"}
        )
    )
    assert changed["rate_card_version"] != version
    draft = ok(
        api.get(f"{base}/rates", {"rate_card_version": changed["rate_card_version"]})
    )
    assert len(draft["data"]) == 2
    versions = ok(api.get(f"{base}/versions"))
    assert [v["number"] for v in versions["data"]] == [2, 1]


def test_lists_page_forward(api, meter):
    for _ in range(3):
        card(api)
    first = ok(api.get("/v2/billing/rate_cards", {"limit": 2}))
    assert len(first["data"]) == 2
    rest = ok(api.get(first["next_page_url"]))
    assert len(rest["data"]) == 1
    assert rest["next_page_url"] is None


def test_a_condition_on_an_undeclared_key_is_refused(api, meter):
    before = counts()
    error = refused(
        api.post_json(
            "/v2/billing/metered_items",
            {
                "display_name": "Colour",
                "meter": meter.id,
                "meter_segment_conditions": [{"dimension": "colour", "value": "red"}],
            },
        )
    )
    assert "no dimension 'colour'" in error["message"]
    assert counts() == before


def test_overlapping_segments_in_a_version_are_refused(api, meter):
    large = item(api, meter, "Large", model="large")
    whole = item(api, meter, "All tokens")
    made = card(api)
    base = f"/v2/billing/rate_cards/{made['id']}"
    ok(
        api.post_json(
            f"{base}/rates", {"metered_item": large["id"], "unit_amount": "1"}
        )
    )
    before = counts()
    refused(
        api.post_json(
            f"{base}/rates", {"metered_item": whole["id"], "unit_amount": "1"}
        ),
        code="rate_card_segments_overlap",
    )
    assert counts() == before


def test_a_published_version_never_changes(api, meter):
    large = item(api, meter, "Large", model="large")
    made = card(api)
    base = f"/v2/billing/rate_cards/{made['id']}"
    rate = ok(
        api.post_json(
            f"{base}/rates", {"metered_item": large["id"], "unit_amount": "1"}
        )
    )
    version = rate["rate_card_version"]
    ok(api.post_json(f"{base}/versions/{version}/publish", {}))
    before = counts()
    refused(
        api.post_json(
            f"{base}/rates",
            {
                "metered_item": large["id"],
                "unit_amount": "2",
                "rate_card_version": version,
            },
        ),
        code="rate_card_version_published",
    )
    refused(
        api.delete(f"{base}/rates/{rate['id']}"), code="rate_card_version_published"
    )
    refused(
        api.post_json(f"{base}/versions/{version}/publish", {}),
        code="rate_card_version_published",
    )
    assert counts() == before
    assert ok(api.get(f"{base}/rates/{rate['id']}"))["unit_amount"] == "1"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"unit_amount": "-1"}, "unit_amount"),
        ({"unit_amount": "1", "colour": "red"}, "unknown parameter: colour"),
        ({"tiering_mode": "volume"}, "tiers"),
        (
            {
                "tiering_mode": "volume",
                "tiers": [{"up_to_decimal": "5", "unit_amount": "1"}],
            },
            "last tier",
        ),
        ({"unit_amount": "1", "metered_item": "bli_nope"}, "bli_nope"),
        (
            {
                "tiering_mode": "graduated",
                "tiers": [
                    {"up_to_decimal": "1" + "0" * 20, "unit_amount": "1"},
                    {"up_to_inf": "inf", "unit_amount": "1"},
                ],
            },
            "up_to_decimal",
        ),
        ({"unit_amount": "1" + "0" * 20}, "at most"),
        ({"unit_amount": "0.0000000000001"}, "decimal places"),
        ({"unit_amount": "1", "transform_quantity": {"divide_by": 0}}, "divide_by"),
    ],
)
def test_bad_rates_are_400_and_nothing_is_written(api, meter, body, fragment):
    large = item(api, meter, "Large", model="large")
    made = card(api)
    before = counts()
    error = refused(
        api.post_json(
            f"/v2/billing/rate_cards/{made['id']}/rates",
            {"metered_item": large["id"], **body},
        ),
        status=404 if "bli_nope" in fragment else 400,
    )
    assert fragment in error["message"]
    assert counts() == before


def test_unknown_ids_are_404(api, meter):
    refused(api.get("/v2/billing/rate_cards/rcd_nope"), 404, "resource_missing")
    refused(api.get("/v2/billing/metered_items/bli_nope"), 404, "resource_missing")
    refused(api.get("/v2/billing/rate_card_migrations/rcdm_nope"), 404)


def test_another_modes_rate_cards_are_missing(api, meter):
    made = card(api)
    _, live = api_key_create(name="live", livemode=True)
    other = ApiClient(Client(), live)
    refused(other.get(f"/v2/billing/rate_cards/{made['id']}"), 404)
    assert ok(other.get("/v2/billing/rate_cards"))["data"] == []
    assert ok(other.get("/v2/billing/metered_items"))["data"] == []


def test_v1_subscription_follows_a_rate_card(api, meter):
    plan = Card(meter)
    v1 = plan.publish(large=3, small=1)
    customer = CustomerFactory()
    body = ok(
        api.post(
            "/v1/subscriptions", {"customer": customer.id, "rate_card": plan.card.id}
        )
    )
    assert body["rate_card"] == plan.card.id
    assert body["rate_card_version"] == "latest"
    assert body["rate_card_current_version"] == v1.id
    assert len(body["items"]["data"]) == 2
    pinned = ok(
        api.post(
            "/v1/subscriptions",
            {
                "customer": customer.id,
                "rate_card": plan.card.id,
                "rate_card_version": v1.id,
            },
        )
    )
    assert pinned["rate_card_version"] == v1.id
    plain = ok(
        api.post(
            "/v1/subscriptions",
            {"customer": customer.id, "items": [{"price": v1.rates.first().price_id}]},
        )
    )
    assert "rate_card" not in plain


def test_v1_subscription_refuses_a_draft_or_missing_card(api, meter):
    plan = Card(meter)
    customer = CustomerFactory()
    before = Subscription.objects.count()
    error = api.post(
        "/v1/subscriptions", {"customer": customer.id, "rate_card": plan.card.id}
    ).json()["error"]
    assert error["param"] == "rate_card"
    assert "no published version" in error["message"]
    error = api.post(
        "/v1/subscriptions", {"customer": customer.id, "rate_card": "rcd_nope"}
    ).json()["error"]
    assert error["code"] == "resource_missing"
    assert Subscription.objects.count() == before


def test_migration_api_dry_run_then_confirm(api, meter):
    plan = Card(meter)
    v1 = plan.publish(large=3, small=1)
    subs = [plan.subscribe(version=v1) for _ in range(2)]
    for sub in subs:
        send(sub.customer, 100, APR1 + timedelta(hours=1), "large")
    with time_machine.travel(MAY1 + timedelta(hours=3), tick=False):
        close_and_finalize(MAY1)
        v2 = plan.publish(now=MAY1, large=2)
        dry = ok(
            api.post_json(
                "/v2/billing/rate_card_migrations",
                {"rate_card_version": v2.id, "subscriptions": [subs[0].pk]},
            )
        )
        assert dry["status"] == "dry_run"
        assert dry["summary"] == {
            "subscriptions": 1,
            "amount_current": 300,
            "amount_proposed": 200,
            "amount_difference": -100,
        }
        rows = ok(
            api.get(f"/v2/billing/rate_card_migrations/{dry['id']}/subscriptions")
        )
        assert rows["data"][0]["subscription"] == subs[0].pk
        assert rows["data"][0]["period_start"] == "2026-04-01T00:00:00.000Z"
        assert rows["data"][0]["effective_at"] is None
        done = ok(
            api.post_json(f"/v2/billing/rate_card_migrations/{dry['id']}/confirm", {})
        )
        assert done["status"] == "confirmed"
        refused(
            api.post_json(f"/v2/billing/rate_card_migrations/{dry['id']}/confirm", {}),
            code="rate_card_migration_confirmed",
        )
        rows = ok(
            api.get(f"/v2/billing/rate_card_migrations/{dry['id']}/subscriptions")
        )
        assert rows["data"][0]["effective_at"] == "2026-06-01T00:00:00.000Z"
        assert (
            ok(api.get("/v2/billing/rate_card_migrations"))["data"][0]["id"]
            == dry["id"]
        )
    subs[0].refresh_from_db()
    subs[1].refresh_from_db()
    assert (subs[0].rate_card_version_id, subs[1].rate_card_version_id) == (
        v2.id,
        v1.id,
    )


def test_migrating_to_another_currency_is_refused(api, meter):
    plan = Card(meter)
    v1 = plan.publish(large=3)
    sub = plan.subscribe(version=v1)
    euro = Card(meter, currency="eur")
    target = euro.publish(large=2)
    before = counts()
    refused(
        api.post_json(
            "/v2/billing/rate_card_migrations",
            {"rate_card_version": target.id, "subscriptions": [sub.pk]},
        ),
        code="rate_card_currency_mismatch",
    )
    assert counts() == before
    sub.refresh_from_db()
    assert sub.rate_card_version_id == v1.id


def test_migrating_needs_a_published_version_and_rate_card_subscriptions(api, meter):
    plan = Card(meter)
    v1 = plan.publish(large=3)
    draft_rate = RateCardRate.objects.filter(rate_card_version=v1).first()
    other = plan.subscribe(version=v1)
    from catalog.rate_cards import services as cards

    draft = cards.rate_set(
        card=plan.card,
        params={"metered_item": draft_rate.metered_item_id, "unit_amount": 5},
        now=APR1,
    ).rate_card_version
    before = counts()
    refused(
        api.post_json(
            "/v2/billing/rate_card_migrations",
            {"rate_card_version": draft.id, "subscriptions": [other.pk]},
        )
    )
    refused(
        api.post_json(
            "/v2/billing/rate_card_migrations",
            {"rate_card_version": v1.id, "subscriptions": ["sub_nope"]},
        ),
        404,
    )
    refused(
        api.post_json("/v2/billing/rate_card_migrations", {"rate_card_version": v1.id})
    )
    assert counts() == before


def test_a_replaced_draft_rate_archives_its_price_only(api, meter):
    large = item(api, meter, "Large", model="large")
    made = card(api)
    base = f"/v2/billing/rate_cards/{made['id']}"

    def set_rate(unit):
        body = {"metered_item": large["id"], "unit_amount": unit}
        return RateCardRate.objects.get(
            pk=ok(api.post_json(f"{base}/rates", body))["id"]
        )

    first = set_rate("1")
    ok(api.post_json(f"{base}/versions/{first.rate_card_version_id}/publish", {}))
    second = set_rate("2")  # a new draft: the copy of v1's rate is replaced
    third = set_rate("3")  # the draft's own rate is replaced
    first.price.refresh_from_db()
    second.price.refresh_from_db()
    assert first.price.active  # v1 still has it
    assert not second.price.active  # no version has it any more
    assert third.price.active
    assert (
        RateCardRate.objects.filter(rate_card_version=third.rate_card_version).count()
        == 1
    )

"""Dashboard: set up a rate card, publish versions, dry-run and confirm a
migration; refusals show as messages and write nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.models import RateCardMigration
from catalog.models import MeteredItem, RateCard, RateCardVersion
from tests.billing.rate_card_fixtures import APR1, MAY1, Card, make_meter, send
from tests.billing.test_preview_equals_invoice import close_and_finalize

pytestmark = pytest.mark.django_db


def action(card_id, name):
    return reverse("admin:catalog_ratecard_action", args=[quote(card_id), name])


def test_set_up_a_rate_card_and_publish(admin_client):
    meter = make_meter()
    response = admin_client.post(
        reverse("admin:catalog_ratecard_add"),
        {
            "display_name": "AI plan",
            "currency": "usd",
            "service_interval": "month",
            "service_interval_count": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    card = RateCard.objects.get()
    for model in ("large", "small"):
        admin_client.post(
            action(card.pk, "item"),
            {
                "display_name": f"Tokens {model}",
                "meter": meter.pk,
                "segment": f"model={model}",
            },
        )
    items = {
        i.meter_segment_conditions[0]["value"]: i for i in MeteredItem.objects.all()
    }
    for model, unit in (("large", "3"), ("small", "1")):
        admin_client.post(
            action(card.pk, "rate"),
            {"metered_item": items[model].pk, "unit_amount": unit},
        )
    admin_client.post(action(card.pk, "publish"))
    card.refresh_from_db()
    assert card.latest_version.number == 1
    page = admin_client.get(
        reverse("admin:catalog_ratecard_change", args=[quote(card.pk)])
    ).content.decode()
    assert 'data-status="published"' in page
    assert "model=large" in page
    # A condition on a key the meter does not declare: refused, nothing written.
    response = admin_client.post(
        action(card.pk, "item"),
        {"display_name": "Colour", "meter": meter.pk, "segment": "colour=red"},
        follow=True,
    )
    assert "no dimension &#x27;colour&#x27;" in response.content.decode()
    assert MeteredItem.objects.count() == 2


def test_migration_dry_run_then_confirm(admin_client):
    with time_machine.travel(APR1, tick=False):
        plan = Card(make_meter())
        v1 = plan.publish(large=3, small=1)
        subs = [plan.subscribe(version=v1) for _ in range(2)]
        for sub in subs:
            send(sub.customer, 100, APR1 + timedelta(hours=1), "large")
    with time_machine.travel(MAY1 + timedelta(hours=3), tick=False):
        close_and_finalize(MAY1)
        v2 = plan.publish(now=MAY1, large=2)
        response = admin_client.post(
            action(plan.card.pk, "migrate"),
            {"rate_card_version": v2.pk, "subscriptions": [subs[0].pk]},
        )
        migration = RateCardMigration.objects.get()
        assert response.status_code == 302
        page = admin_client.get(response["Location"]).content.decode()
        assert "$3.00" in page
        assert "$2.00" in page
        assert "-$1.00" in page
        assert 'id="confirm-migration"' in page
        admin_client.post(
            reverse(
                "admin:billing_ratecardmigration_action",
                args=[quote(migration.pk), "confirm"],
            )
        )
    migration.refresh_from_db()
    assert migration.status == "confirmed"
    subs[0].refresh_from_db()
    subs[1].refresh_from_db()
    assert (subs[0].rate_card_version_id, subs[1].rate_card_version_id) == (
        v2.pk,
        v1.pk,
    )
    assert RateCardVersion.objects.filter(published_at__isnull=True).count() == 0
    page = admin_client.get(
        reverse("admin:billing_subscription_change", args=[quote(subs[0].pk)])
    ).content.decode()
    assert 'id="rate-card-follow"' in page
    assert f"pinned to <code>{v2.pk}</code>" in page

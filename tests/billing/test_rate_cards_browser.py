"""A rate card set up in the browser: two metered items on one meter's segments,
rates, a published version, then a second version and a migration of one chosen
subscriber (dry run, then confirm)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from billing.models import RateCardMigration, Subscription
from catalog.models import RateCard
from tests.billing.rate_card_fixtures import APR1, MAY1, make_meter, send
from tests.billing.test_preview_equals_invoice import close_and_finalize

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def set_rates(page, rates):
    for name, unit in rates:
        page.select_option("#rate-form select[name='metered_item']", label=name)
        page.fill("#rate-form input[name='unit_amount']", unit)
        page.click("#rate-form input[type='submit']")
        page.wait_for_selector(".messagelist")
    page.click("#publish-form input[type='submit']")
    page.wait_for_selector(".messagelist")


def test_staff_sets_up_a_rate_card_and_migrates_a_subscriber(staff_page, live_server):
    page = staff_page
    meter = make_meter()
    page.goto(f"{live_server.url}/admin/catalog/ratecard/add/")
    page.fill("#id_display_name", "AI plan")
    page.click("input[name='_save']")
    page.wait_for_url(re.compile(r"/admin/catalog/ratecard/rcd_\w+/change/"))
    for model in ("large", "small"):
        page.fill("#item-form input[name='display_name']", f"Tokens {model}")
        page.select_option("#item-form select[name='meter']", meter.pk)
        page.fill("#item-form input[name='segment']", f"model={model}")
        page.click("#item-form input[type='submit']")
        page.wait_for_selector(".messagelist")
    set_rates(page, [("Tokens large", "3"), ("Tokens small", "1")])
    assert page.locator("[data-status='published']").count() == 1
    card = RateCard.objects.get()
    from billing.services import subscription_create
    from tests.billing.factories import CustomerFactory

    v1 = card.latest_version
    with time_machine.travel(APR1, tick=False):
        subs = [
            subscription_create(
                customer=CustomerFactory(),
                params={"rate_card": card.pk, "rate_card_version": v1.pk},
                now=APR1,
            )
            for _ in range(2)
        ]
    for sub in subs:
        send(sub.customer, 100, APR1 + timedelta(hours=1), "large")
    close_and_finalize(MAY1)

    page.reload()
    set_rates(page, [("Tokens large", "2")])
    assert page.locator("[data-status='published']").count() == 2
    page.check(f"#sub-{subs[0].pk}")
    page.select_option("#id_rate_card_version", label="AI plan v2 (USD)")
    page.click("#migrate-form input[type='submit']")
    page.wait_for_url(re.compile(r"/admin/billing/ratecardmigration/rcdm_\w+/change/"))
    total = page.inner_text("#migration-total")
    assert "$3.00" in total
    assert "$2.00" in total
    assert page.inner_text("#migration-status") == "Dry run"
    assert Subscription.objects.get(pk=subs[0].pk).rate_card_version_id == v1.pk
    page.click("#confirm-migration")
    page.wait_for_selector(".messagelist")
    assert page.inner_text("#migration-status") == "Confirmed"
    assert RateCardMigration.objects.get().status == "confirmed"
    moved = Subscription.objects.get(pk=subs[0].pk)
    assert moved.rate_card_version_id == card.versions.get(number=2).pk
    assert Subscription.objects.get(pk=subs[1].pk).rate_card_version_id == v1.pk

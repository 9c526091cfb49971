"""The "credits expiring soon" email: content to the cent, once per grant, on time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection

from core import clock
from core.models import OutboundEmail
from core.services import test_clocks
from credits.models import CreditGrant
from credits.services import (
    credit_grant_expiry_notices_send_due,
    credit_grant_update,
    credit_grant_void,
    credit_grants_process_due,
    credits_apply_to_invoice,
)
from credits.services.notices import format_amount
from credits.tasks import credit_grant_expiry_notices_send_task
from tests.credits.factories import (
    T0,
    CustomerFactory,
    PriceFactory,
    ProductFactory,
    line,
    make_grant,
)

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
WINDOW = 7 * DAY
TEMPLATE = "credits/email/grant_expiring"


def notices(grant: CreditGrant | None = None) -> list[OutboundEmail]:
    rows = OutboundEmail.objects.filter(template=TEMPLATE).order_by("pk")
    if grant is not None:
        rows = rows.filter(text__contains=grant.pk)
    return list(rows)


def send_due(now) -> int:
    return credit_grant_expiry_notices_send_due(now=now)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1234, "usd", "12.34 USD"),
        (5, "usd", "0.05 USD"),
        (123456789, "eur", "1,234,567.89 EUR"),
        (1500, "jpy", "1,500 JPY"),
        (7, "jpy", "7 JPY"),
        (12345, "kwd", "12.345 KWD"),
    ],
)
def test_amounts_read_with_the_currency_code(amount, currency, text):
    assert format_amount(amount, currency) == text


def test_the_email_states_what_is_left_to_the_cent(
    django_capture_on_commit_callbacks,
):
    customer = CustomerFactory(name="Acme Corp", email="billing@acme.example")
    grant = make_grant(
        customer, 2000, name="Launch promo", expires_at=T0 + 30 * DAY, now=T0
    )
    credits_apply_to_invoice(
        customer_id=customer.pk, invoice_id="in_1", lines=[line("il_1", 766)], now=T0
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due(T0 + 23 * DAY) == 1

    (email,) = notices()
    assert email.to == ["billing@acme.example"]
    assert email.subject == (
        'Your credits "Launch promo" expire on May 31, 2026: 12.34 USD left'
    )
    for body in (email.text, email.html):
        assert "Acme Corp" in body
        assert "12.34 USD" in body
        assert "20.00 USD" in body  # granted
        assert "USD" in body
        assert "May 31, 2026, 12:00 UTC" in body
        assert "All usage-based (metered) prices" in body
        assert grant.pk in body
    assert "<table" in email.html
    (message,) = mail.outbox
    assert message.subject == email.subject
    assert message.alternatives[0][1] == "text/html"
    grant.refresh_from_db()
    assert grant.expiry_notice_sent_at == T0 + 23 * DAY


def test_zero_decimal_currency_and_listed_prices():
    customer = CustomerFactory(email="jp@example.com")
    product = ProductFactory(name="API calls")
    price = PriceFactory(product=product, currency="jpy", nickname="Tokyo region")
    make_grant(
        customer,
        1500,
        currency="jpy",
        prices=[price.pk],
        expires_at=T0 + 10 * DAY,
        now=T0,
    )
    assert send_due(T0 + 3 * DAY) == 1
    (email,) = notices()
    assert "1,500 JPY left" in email.subject
    assert 'Your credits "Billing credits"' in email.subject  # unnamed grant
    for body in (email.text, email.html):
        assert "1,500 JPY" in body
        assert "JPY" in body
        assert f"API calls – Tokyo region ({price.pk})" in body


def test_sent_exactly_one_window_before_expiry_not_a_second_earlier():
    customer = CustomerFactory()
    expires_at = T0 + 30 * DAY
    grant = make_grant(customer, 1000, expires_at=expires_at, now=T0)
    assert settings.TALLY_GRANT_EXPIRY_NOTICE == WINDOW

    assert send_due(expires_at - WINDOW - SECOND) == 0
    assert notices() == []
    assert send_due(expires_at - WINDOW) == 1
    grant.refresh_from_db()
    assert grant.expiry_notice_sent_at == expires_at - WINDOW


def test_rerun_and_a_later_update_send_nothing_more():
    customer = CustomerFactory()
    grant = make_grant(customer, 1000, expires_at=T0 + 10 * DAY, now=T0)
    assert send_due(T0 + 3 * DAY) == 1
    assert send_due(T0 + 3 * DAY) == 0
    assert send_due(T0 + 5 * DAY) == 0
    # A new expiry, even one a window away again, does not announce it twice.
    credit_grant_update(
        grant=grant, params={"expires_at": T0 + 8 * DAY}, now=T0 + 5 * DAY
    )
    assert send_due(T0 + 6 * DAY) == 0
    assert len(notices()) == 1


def test_created_inside_the_window_is_noticed_at_once(
    django_capture_on_commit_callbacks,
):
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        grant = make_grant(customer, 1000, expires_at=T0 + 2 * DAY, now=T0)
    assert grant.expiry_notice_sent_at == T0
    assert len(mail.outbox) == 1
    assert send_due(T0 + DAY) == 0


def test_an_expiry_moved_into_the_window_is_noticed_at_once():
    customer = CustomerFactory()
    grant = make_grant(customer, 1000, expires_at=T0 + 60 * DAY, now=T0)
    assert notices() == []
    grant = credit_grant_update(
        grant=grant, params={"expires_at": T0 + 3 * DAY}, now=T0 + DAY
    )
    assert grant.expiry_notice_sent_at == T0 + DAY
    assert len(notices(grant)) == 1


def test_a_future_grant_is_noticed_when_its_credits_are_granted():
    customer = CustomerFactory()
    grant = make_grant(
        customer,
        1000,
        effective_at=T0 + 2 * DAY,
        expires_at=T0 + 5 * DAY,
        now=T0,
    )
    # Inside the window, but nothing is granted yet: nothing to lose so far.
    assert send_due(T0 + DAY) == 0
    credit_grants_process_due(now=T0 + 2 * DAY)
    assert send_due(T0 + 2 * DAY) == 1
    assert len(notices(grant)) == 1


@pytest.mark.parametrize(
    "case", ["voided", "spent", "expired", "no email", "deleted", "never expires"]
)
def test_no_notice_when_nothing_is_left_to_lose_or_nobody_to_tell(case):
    customer = CustomerFactory(email="" if case == "no email" else "a@example.com")
    expires_at = None if case == "never expires" else T0 + 10 * DAY
    grant = make_grant(customer, 1000, expires_at=expires_at, now=T0)
    if case == "voided":
        credit_grant_void(grant=grant, now=T0 + DAY)
    elif case == "spent":
        credits_apply_to_invoice(
            customer_id=customer.pk,
            invoice_id="in_1",
            lines=[line("il_1", 1000)],
            now=T0 + DAY,
        )
    elif case == "deleted":
        customer.deleted = True
        customer.save(update_fields=["deleted"])
    elif case == "expired":
        credit_grants_process_due(now=T0 + 10 * DAY)
        assert send_due(T0 + 10 * DAY) == 0
    assert send_due(T0 + 5 * DAY) == 0
    assert notices() == []


def test_an_email_added_later_still_gets_the_notice():
    customer = CustomerFactory(email=None)
    grant = make_grant(customer, 1000, expires_at=T0 + 5 * DAY, now=T0)
    assert grant.expiry_notice_sent_at is None
    customer.email = "late@example.com"
    customer.save(update_fields=["email"])
    assert send_due(T0 + DAY) == 1
    assert notices()[0].to == ["late@example.com"]


def test_a_zero_window_turns_notices_off(settings):
    settings.TALLY_GRANT_EXPIRY_NOTICE = timedelta(0)
    customer = CustomerFactory()
    make_grant(customer, 1000, expires_at=T0 + 2 * DAY, now=T0)
    assert send_due(T0 + DAY) == 0
    assert notices() == []


def test_the_beat_job_uses_real_time_and_skips_test_clock_grants():
    entry = settings.CELERY_BEAT_SCHEDULE["credit-grants-send-expiry-notices"]
    assert entry == {
        "task": "credits.tasks.credit_grant_expiry_notices_send_task",
        "schedule": timedelta(minutes=1),
    }
    real_now = clock.now()
    on_real_time = make_grant(
        CustomerFactory(), 1000, expires_at=real_now + 3 * DAY, now=real_now - DAY
    )
    test_clock = test_clocks.test_clock_create(frozen_time=T0, now=real_now)
    on_clock = make_grant(
        CustomerFactory(test_clock=test_clock), 1000, expires_at=T0 + 30 * DAY
    )
    # The first was created inside the window already; the job has nothing left.
    assert on_real_time.expiry_notice_sent_at == real_now - DAY
    assert credit_grant_expiry_notices_send_task() == 0
    on_clock.refresh_from_db()
    assert on_clock.expiry_notice_sent_at is None  # its customer lives at T0


def test_advancing_a_test_clock_past_the_notice_moment_sends_it(api):
    test_clock = test_clocks.test_clock_create(frozen_time=T0, now=clock.now())
    customer = CustomerFactory(test_clock=test_clock)
    grant = make_grant(customer, 1234, expires_at=T0 + 30 * DAY)

    def advance(to):
        response = api.post(
            f"/v1/test_helpers/test_clocks/{test_clock.pk}/advance",
            {"frozen_time": int(to.timestamp())},
        )
        assert response.status_code == 200, response.json()
        test_clock.refresh_from_db()
        assert test_clock.status == "ready"
        grant.refresh_from_db()

    advance(T0 + 23 * DAY - SECOND)
    assert grant.expiry_notice_sent_at is None
    advance(T0 + 40 * DAY)
    # Sent at the clock's moment, before the grant expired on the same advance.
    assert grant.expiry_notice_sent_at == T0 + 23 * DAY
    assert grant.status == "expired"
    (email,) = notices(grant)
    assert "12.34 USD" in email.text
    assert len(mail.outbox) == 1


def test_a_grant_becoming_effective_on_a_clock_inside_the_window(api):
    test_clock = test_clocks.test_clock_create(frozen_time=T0, now=clock.now())
    customer = CustomerFactory(test_clock=test_clock)
    grant = make_grant(
        customer, 500, effective_at=T0 + 5 * DAY, expires_at=T0 + 8 * DAY
    )
    api.post(
        f"/v1/test_helpers/test_clocks/{test_clock.pk}/advance",
        {"frozen_time": int((T0 + 6 * DAY).timestamp())},
    )
    grant.refresh_from_db()
    assert grant.expiry_notice_sent_at == T0 + 5 * DAY
    assert len(notices(grant)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="parallel writers need PostgreSQL")
def test_workers_running_the_job_at_once_send_one_notice():
    customers = [CustomerFactory() for _ in range(3)]
    grants = [
        make_grant(customer, 1000, expires_at=T0 + 30 * DAY, now=T0)
        for customer in customers
    ]
    workers = 6
    barrier = threading.Barrier(workers)

    def run(_):
        try:
            barrier.wait()
            return send_due(T0 + 25 * DAY)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        sent = list(pool.map(run, range(workers)))
    assert sum(sent) == 3
    for grant in grants:
        assert len(notices(grant)) == 1

"""Time passing: the Beat job and the test-clock handler grant and expire once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from core import clock
from core.services import test_clocks
from credits import selectors
from credits.models import CreditGrant
from credits.services import credits_apply_to_invoice
from credits.tasks import credit_grants_process_due_task
from tests.credits.factories import T0, CustomerFactory, line, make_grant

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def unix(moment) -> int:
    return int(moment.timestamp())


def ledger(grant: CreditGrant) -> list[tuple[str, int, int]]:
    return [
        (entry.kind, entry.signed_amount, unix(entry.effective_at))
        for entry in grant.transactions.order_by("created", "pk")
    ]


def test_the_job_is_scheduled_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["credit-grants-process-due"]
    assert entry["task"] == "credits.tasks.credit_grants_process_due_task"
    assert entry["schedule"] == timedelta(minutes=1)


def test_beat_job_grants_and_expires_real_time_grants_once():
    real_now = clock.now()
    customer = CustomerFactory()
    starting = make_grant(
        customer, 500, effective_at=real_now - DAY, now=real_now - 2 * DAY
    )
    ending = make_grant(
        customer,
        800,
        effective_at=real_now - 3 * DAY,
        expires_at=real_now - DAY,
        now=real_now - 3 * DAY,
    )
    future = make_grant(customer, 300, effective_at=real_now + DAY, now=real_now - DAY)
    assert starting.status == "pending"
    assert credit_grants_process_due_task() == 2
    assert credit_grants_process_due_task() == 0
    starting.refresh_from_db()
    ending.refresh_from_db()
    future.refresh_from_db()
    assert ledger(starting) == [
        ("credits_granted", 500, unix(real_now - DAY)),
    ]
    assert ledger(ending) == [
        ("credits_granted", 800, unix(real_now - 3 * DAY)),
        ("credits_expired", -800, unix(real_now - DAY)),
    ]
    assert (starting.status, ending.status, future.status) == (
        "active",
        "expired",
        "pending",
    )


def test_beat_job_leaves_test_clock_grants_to_their_clock():
    test_clock = test_clocks.test_clock_create(frozen_time=T0, now=clock.now())
    customer = CustomerFactory(test_clock=test_clock)
    grant = make_grant(customer, 500, expires_at=T0 + DAY)
    # Real time is long past T0 + 1 day, but the customer lives on the clock.
    assert credit_grants_process_due_task() == 0
    grant.refresh_from_db()
    assert grant.status == "active"
    assert grant.test_clock_id == test_clock.pk


def test_test_clock_advance_grants_and_expires_in_time_order(api):
    test_clock = api.post(
        "/v1/test_helpers/test_clocks", {"frozen_time": unix(T0)}
    ).json()
    customer = api.post("/v1/customers", {"test_clock": test_clock["id"]}).json()
    customer_id = customer["id"]
    base = {
        "customer": customer_id,
        "applicability_config": {"scope": {"price_type": "metered"}},
    }
    later = api.post(
        "/v1/billing/credit_grants",
        {
            **base,
            "amount": {
                "type": "monetary",
                "monetary": {"currency": "usd", "value": 700},
            },
            "effective_at": unix(T0 + DAY),
            "expires_at": unix(T0 + 10 * DAY),
        },
    ).json()
    now_grant = api.post(
        "/v1/billing/credit_grants",
        {
            **base,
            "amount": {
                "type": "monetary",
                "monetary": {"currency": "usd", "value": 400},
            },
            "expires_at": unix(T0 + 5 * DAY),
        },
    ).json()
    assert later["test_clock"] == now_grant["test_clock"] == test_clock["id"]
    assert now_grant["effective_at"] == unix(T0)
    assert selectors.credit_grants_next_due(
        test_clock=CreditGrant.objects.get(pk=later["id"]).test_clock
    ) == (T0 + DAY)

    api.post(
        f"/v1/test_helpers/test_clocks/{test_clock['id']}/advance",
        {"frozen_time": unix(T0 + 2 * DAY)},
    )
    credits_apply_to_invoice(
        customer_id=customer_id,
        invoice_id="in_1",
        lines=[line("il_1", 500)],
        now=T0 + 2 * DAY,
    )
    api.post(
        f"/v1/test_helpers/test_clocks/{test_clock['id']}/advance",
        {"frozen_time": unix(T0 + 20 * DAY)},
    )
    assert (
        api.get(f"/v1/test_helpers/test_clocks/{test_clock['id']}").json()["status"]
        == "ready"
    )

    soon = CreditGrant.objects.get(pk=now_grant["id"])
    late = CreditGrant.objects.get(pk=later["id"])
    # The grant expiring first was applied first: 400 from it, 100 from the other.
    assert ledger(soon) == [
        ("credits_granted", 400, unix(T0)),
        ("credits_applied", -400, unix(T0 + 2 * DAY)),
    ]
    assert ledger(late) == [
        ("credits_granted", 700, unix(T0 + DAY)),
        ("credits_applied", -100, unix(T0 + 2 * DAY)),
        ("credits_expired", -600, unix(T0 + 10 * DAY)),
    ]
    assert (soon.status, late.status) == ("expired", "expired")
    transactions = api.get(
        "/v1/billing/credit_balance_transactions", {"customer": customer_id}
    ).json()["data"]
    assert {t["test_clock"] for t in transactions} == {test_clock["id"]}
    assert selectors.credit_grants_next_due(test_clock=soon.test_clock) is None

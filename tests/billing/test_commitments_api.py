"""``/v1/billing/commitments``: shapes, lists, void; bad input refused with a
Stripe-style 4xx and nothing written; a prepaid commitment drawn down by usage,
its balance, burn rate and projected run-out, and overage billed at the rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.commitment_status import commitment_drawdown, drawdown_project
from billing.models import Commitment, Invoice, InvoiceItem, Subscription
from billing.services import (
    invoice_preview,
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from billing.services.commitments import commitment_create
from core.models import Event
from credits.models import CreditGrant
from tests.billing.factories import CustomerFactory, PriceFactory, record_usage
from tests.billing.test_preview_equals_invoice import issued, previewed
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
NEXT_APR1 = datetime(2027, 4, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def refused(response, status=400) -> dict:
    assert response.status_code == status, response.content
    return error_of(response)


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.fixture
def sub():
    price = PriceFactory(metered=True, unit_amount_decimal=Decimal(10))
    customer = CustomerFactory()
    return subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )


def nothing_written() -> None:
    assert not Commitment.objects.exists()
    assert not CreditGrant.objects.exists()
    assert not InvoiceItem.objects.exists()
    assert not Event.objects.filter(type__startswith="billing.commitment").exists()


def test_minimum_spend_create_retrieve_list_void(api, sub):
    body = ok(
        api.post(
            "/v1/billing/commitments",
            {
                "type": "minimum_spend",
                "subscription": sub.pk,
                "amount": 10_000,
                "currency": "usd",
                "description": "Committed $100 a month",
                "metadata": {"deal": "q2"},
            },
        )
    )
    assert body["id"].startswith("bcmt_")
    assert body["object"] == "billing.commitment"
    assert (body["type"], body["amount"], body["currency"]) == (
        "minimum_spend",
        10_000,
        "usd",
    )
    assert (body["customer"], body["subscription"]) == (sub.customer_id, sub.pk)
    assert body["term"] == {"start": ts(APR1), "end": None}
    assert (body["prepaid"], body["credit_grant"], body["livemode"]) == (
        None,
        None,
        False,
    )
    assert body["metadata"] == {"deal": "q2"}
    assert body["status"] == "active"
    assert Subscription.objects.get(pk=sub.pk).has_commitments
    assert ok(api.get(f"/v1/billing/commitments/{body['id']}")) == body
    listed = ok(api.get("/v1/billing/commitments", {"subscription": sub.pk}))
    assert [row["id"] for row in listed["data"]] == [body["id"]]
    assert ok(api.get("/v1/billing/commitments", {"type": "prepaid"}))["data"] == []
    voided = ok(api.post(f"/v1/billing/commitments/{body['id']}/void"))
    assert voided["status"] == "voided"
    assert voided["voided_at"] is not None
    error = refused(api.post(f"/v1/billing/commitments/{body['id']}/void"))
    assert error["code"] == "commitment_voided"
    types = list(Event.objects.order_by("created", "id").values_list("type", flat=True))
    assert types[-2:] == ["billing.commitment.created", "billing.commitment.voided"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": -100}, "amount"),
        ({"amount": 0}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"type": "minimum_spend", "subscription": None}, "subscription"),
        ({"type": "prepaid", "term": None}, "term[end]"),
        ({"term": {"start": ts(MAY1), "end": ts(APR1)}}, "term[end]"),
        ({"subscription": "sub_missing"}, "subscription"),
        ({"customer": "cus_missing", "subscription": None}, "customer"),
        ({"type": "weekly"}, "type"),
    ],
    ids=[
        "negative",
        "zero",
        "currency mismatch",
        "minimum without subscription",
        "prepaid without term end",
        "term backwards",
        "unknown subscription",
        "unknown customer",
        "unknown type",
    ],
)
def test_bad_input_is_refused_and_nothing_written(api, sub, params, param):
    base = {
        "type": "prepaid",
        "subscription": sub.pk,
        "amount": 1_200_000,
        "currency": "usd",
        "term": {"start": ts(APR1), "end": ts(NEXT_APR1)},
    }
    merged = {**base, **params}
    sent = {key: value for key, value in merged.items() if value is not None}
    error = refused(api.post("/v1/billing/commitments", sent))
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    nothing_written()


def test_currency_mismatch_is_named(api, sub):
    error = refused(
        api.post(
            "/v1/billing/commitments",
            {
                "type": "minimum_spend",
                "subscription": sub.pk,
                "amount": 100,
                "currency": "eur",
            },
        )
    )
    assert (error["code"], error["param"]) == ("currency_mismatch", "currency")


@pytest.mark.parametrize(
    ("first", "second", "clash"),
    [
        ((APR1, None), (MAY1, None), True),
        ((APR1, MAY1), (MAY1, NEXT_APR1), False),
        ((MAY1, NEXT_APR1), (APR1, MAY1 + DAY), True),
        ((MAY1, NEXT_APR1), (APR1, MAY1), False),
    ],
    ids=["open-ended", "back to back", "ends inside", "ends at start"],
)
def test_overlapping_terms_are_refused(api, sub, first, second, clash):
    def create(term):
        start, end = term
        body = {
            "type": "minimum_spend",
            "subscription": sub.pk,
            "amount": 5_000,
            "currency": "usd",
            "term": {"start": ts(start)} | ({"end": ts(end)} if end else {}),
        }
        return api.post("/v1/billing/commitments", body)

    ok(create(first))
    if clash:
        error = refused(create(second))
        assert (error["code"], error["param"]) == ("commitment_overlap", "term")
        assert Commitment.objects.count() == 1
    else:
        ok(create(second))
        assert Commitment.objects.count() == 2


def test_a_voided_commitment_no_longer_overlaps(api, sub):
    body = {
        "type": "minimum_spend",
        "subscription": sub.pk,
        "amount": 5_000,
        "currency": "usd",
    }
    first = ok(api.post("/v1/billing/commitments", body))
    ok(api.post(f"/v1/billing/commitments/{first['id']}/void"))
    ok(api.post("/v1/billing/commitments", body))


def test_prepaid_commitment_creates_its_grant_and_prepayment(api, sub):
    body = ok(
        api.post(
            "/v1/billing/commitments",
            {
                "type": "prepaid",
                "customer": sub.customer_id,
                "subscription": sub.pk,
                "amount": 1_200_000,
                "currency": "usd",
                "term": {"start": ts(APR1), "end": ts(NEXT_APR1)},
            },
        )
    )
    grant = CreditGrant.objects.get(pk=body["credit_grant"])
    assert (grant.amount, grant.currency, grant.category) == (1_200_000, "usd", "paid")
    assert (grant.effective_at, grant.expires_at) == (APR1, NEXT_APR1)
    item = InvoiceItem.objects.get(pk=body["invoice_item"])
    assert (item.amount, item.subscription_id, item.discountable) == (
        1_200_000,
        sub.pk,
        False,
    )
    assert body["prepaid"]["balance"] == 1_200_000
    assert body["prepaid"]["used"] == 0
    assert body["prepaid"]["projected_run_out_at"] is None
    # A second prepaid term over the same months is refused, and writes nothing.
    error = refused(
        api.post(
            "/v1/billing/commitments",
            {
                "type": "prepaid",
                "subscription": sub.pk,
                "amount": 100,
                "currency": "usd",
                "term": {"start": ts(MAY1), "end": ts(NEXT_APR1)},
                "bill_prepayment": False,
            },
        )
    )
    assert error["code"] == "commitment_overlap"
    assert CreditGrant.objects.count() == 1
    assert InvoiceItem.objects.count() == 1


def test_voiding_a_prepaid_commitment_voids_its_grant(api, sub):
    body = ok(
        api.post(
            "/v1/billing/commitments",
            {
                "type": "prepaid",
                "subscription": sub.pk,
                "amount": 50_000,
                "currency": "usd",
                "term": {"start": ts(APR1), "end": ts(NEXT_APR1)},
                "bill_prepayment": False,
            },
        )
    )
    assert body["invoice_item"] is None
    voided = ok(api.post(f"/v1/billing/commitments/{body['id']}/void"))
    assert (voided["status"], voided["prepaid"]) == ("voided", None)
    grant = CreditGrant.objects.get(pk=body["credit_grant"])
    assert grant.status == "voided"
    assert grant.voided_at is not None


def test_drawdown_projection_to_the_second():
    # $12,000 over a year, $3,000 used in the first 30 days: $100 a day, the
    # $9,000 left last 90 more days.
    now = APR1 + 30 * DAY
    found = drawdown_project(
        amount=1_200_000, balance=900_000, start=APR1, end=NEXT_APR1, now=now
    )
    assert (found.used, found.burn_rate, found.used_percent) == (300_000, 10_000, 25)
    assert found.projected_run_out == now + 90 * DAY
    assert found.exhausted is False
    slow = drawdown_project(
        amount=1_200_000, balance=1_150_000, start=APR1, end=NEXT_APR1, now=now
    )
    assert slow.projected_run_out is None  # not before the term ends
    idle = drawdown_project(
        amount=1_200_000, balance=1_200_000, start=APR1, end=NEXT_APR1, now=now
    )
    assert (idle.burn_rate, idle.projected_run_out) == (0, None)
    spent = drawdown_project(
        amount=1_200_000, balance=0, start=APR1, end=NEXT_APR1, now=now
    )
    assert (spent.exhausted, spent.projected_run_out) == (True, None)
    # $24.00 in the first two hours: $288.00 a day; the $976.00 left lasts
    # 3 d 9 h 20 min.
    odd = drawdown_project(
        amount=100_000, balance=97_600, start=APR1, end=MAY1, now=APR1 + 2 * HOUR
    )
    assert odd.burn_rate == 28_800
    assert odd.projected_run_out == APR1 + 2 * HOUR + timedelta(seconds=292_800)


def prepaid(sub, amount, *, bill=False) -> Commitment:
    return commitment_create(
        params={
            "type": "prepaid",
            "subscription": sub.pk,
            "amount": amount,
            "currency": "usd",
            "term": {"start": APR1, "end": NEXT_APR1},
            "bill_prepayment": bill,
        },
        now=APR1,
    )


def close_april(sub) -> tuple:
    fresh = Subscription.objects.select_related("customer").get(pk=sub.pk)
    before = previewed(
        invoice_preview(customer=None, subscription=fresh, now=MAY1 - HOUR)
    )
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + 2 * HOUR)
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    return before, invoice


def test_prepaid_commitment_is_drawn_down_by_usage(sub):
    commitment = prepaid(sub, 1_200_000)
    record_usage(meter=meter_of(sub), customer=sub.customer, value=3_000, at=APR1 + DAY)
    # Before the invoice: the burndown already counts the usage not invoiced.
    mid = commitment_drawdown(commitment, now=APR1 + 15 * DAY)
    assert (mid.balance, mid.used, mid.burn_rate) == (1_170_000, 30_000, 2_000)
    # $20.00 a day would take 585 more days, past the term's end.
    assert mid.projected_run_out is None
    before, invoice = close_april(sub)
    assert before == issued(invoice)
    assert invoice.subtotal == 30_000
    assert sum(a["amount"] for a in invoice.total_pretax_credit_amounts) == 30_000
    assert (invoice.total, invoice.amount_due) == (0, 0)
    after = commitment_drawdown(commitment, now=MAY1 + 3 * HOUR)
    assert (after.balance, after.used) == (1_170_000, 30_000)


def test_overage_beyond_the_prepaid_amount_is_billed_at_the_rates(sub):
    commitment = prepaid(sub, 10_000)
    record_usage(meter=meter_of(sub), customer=sub.customer, value=1_500, at=APR1 + DAY)
    before, invoice = close_april(sub)
    assert before == issued(invoice)
    assert invoice.subtotal == 15_000
    assert sum(a["amount"] for a in invoice.total_pretax_credit_amounts) == 10_000
    assert invoice.amount_due == 5_000
    state = commitment_drawdown(commitment, now=MAY1 + 3 * HOUR)
    assert (state.balance, state.used, state.exhausted) == (0, 10_000, True)


def test_prepayment_item_is_billed_on_the_next_invoice(sub):
    prepaid(sub, 1_200_000, bill=True)
    _, invoice = close_april(sub)
    prepayment = invoice.lines.get(kind="invoice_item")
    assert prepayment.amount == 1_200_000
    assert invoice.amount_due == 1_200_000


def meter_of(sub):
    return sub.items.get().price.recurring_meter

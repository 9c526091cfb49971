"""``minimum_spend[proration]`` and ``minimum_spend[spend_scope]`` through the API
and the staff form: defaults, echo, and bad input refused with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.commitment_pages import CommitmentForm
from billing.models import Commitment
from billing.services import subscription_create
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def sub():
    price = PriceFactory(metered=True, unit_amount_decimal=Decimal(10))
    return subscription_create(
        customer=CustomerFactory(), params={"items": [{"price": price.pk}]}, now=APR1
    )


def create(api, sub, **extra):
    params = {
        "type": "minimum_spend",
        "subscription": sub.pk,
        "amount": 10_000,
        "currency": "usd",
        **extra,
    }
    return api.post("/v1/billing/commitments", params)


def test_defaults_are_metronomes_proration_and_usage_only(api, sub):
    response = create(api, sub)
    assert response.status_code == 200, response.content
    assert response.json()["minimum_spend"] == {
        "proration": "first_and_last",
        "spend_scope": "usage",
    }


def test_settings_are_kept_and_shown(api, sub):
    response = create(
        api, sub, minimum_spend={"proration": "none", "spend_scope": "all_charges"}
    )
    body = response.json()
    assert body["minimum_spend"] == {"proration": "none", "spend_scope": "all_charges"}
    row = Commitment.objects.get(pk=body["id"])
    assert (row.proration, row.spend_scope) == ("none", "all_charges")
    assert api.get(f"/v1/billing/commitments/{body['id']}").json() == body


def test_a_prepaid_commitment_shows_no_minimum_spend(api, sub):
    response = create(
        api,
        sub,
        type="prepaid",
        amount=120_000,
        term={"end": int(datetime(2027, 4, 1, tzinfo=UTC).timestamp())},
    )
    assert response.status_code == 200, response.content
    assert response.json()["minimum_spend"] is None


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"minimum_spend": {"proration": "middle"}}, "minimum_spend[proration]"),
        ({"minimum_spend": {"spend_scope": "taxes"}}, "minimum_spend[spend_scope]"),
        ({"minimum_spend": {"rounding": "up"}}, "minimum_spend[rounding]"),
        (
            {
                "type": "prepaid",
                "term": {"end": int(datetime(2027, 4, 1, tzinfo=UTC).timestamp())},
                "minimum_spend": {"proration": "none"},
            },
            "minimum_spend",
        ),
    ],
    ids=["unknown proration", "unknown scope", "unknown key", "prepaid"],
)
def test_bad_settings_are_refused_and_nothing_written(api, sub, extra, param):
    response = create(api, sub, **extra)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert not Commitment.objects.exists()


def test_the_staff_form_passes_the_settings(sub):
    form = CommitmentForm(
        {
            "type": "minimum_spend",
            "amount": "100.00",
            "proration": "last",
            "spend_scope": "all_charges",
        }
    )
    assert form.is_valid(), form.errors
    params = form.to_params(sub)
    assert params["minimum_spend"] == {
        "proration": "last",
        "spend_scope": "all_charges",
    }
    prepaid = CommitmentForm({"type": "prepaid", "amount": "100.00"})
    assert prepaid.is_valid(), prepaid.errors
    assert "minimum_spend" not in prepaid.to_params(sub)

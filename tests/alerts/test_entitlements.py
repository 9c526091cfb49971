"""Active entitlements follow subscriptions, one summary event per actual change."""

from __future__ import annotations

import pytest

from billing.services import subscription_cancel, subscription_create
from catalog.models import Feature
from catalog.services import product_feature_create, product_feature_delete
from tests.alerts.factories import CustomerFactory, PriceFactory
from tests.alerts.limits_helpers import APR1, d, features_of, summaries

pytestmark = pytest.mark.django_db


@pytest.fixture
def features():
    return {
        key: Feature.objects.create(name=key.title(), lookup_key=key)
        for key in ("api", "sso", "exports")
    }


def attach(price, *features):
    for feature in features:
        product_feature_create(
            product=price.product, feature_id=feature.pk, livemode=False
        )


def test_subscribing_entitles_and_canceling_removes(features):
    price = PriceFactory()
    attach(price, features["api"], features["sso"])
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    assert features_of(customer) == ["api", "sso"]
    subscription_cancel(subscription=sub, now=d(4, 10))
    assert features_of(customer) == []
    assert summaries(customer) == [["api", "sso"], []]


def test_a_trial_entitles(features):
    price = PriceFactory()
    attach(price, features["api"])
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": price.pk}], "trial_period_days": 14},
        now=APR1,
    )
    assert sub.status == "trialing"
    assert features_of(customer) == ["api"]


def test_a_feature_held_twice_changes_nothing_when_one_source_ends(features):
    basic, addon = PriceFactory(), PriceFactory()
    attach(basic, features["api"])
    attach(addon, features["api"], features["exports"])
    customer = CustomerFactory()
    subscription_create(
        customer=customer, params={"items": [{"price": basic.pk}]}, now=APR1
    )
    extra = subscription_create(
        customer=customer, params={"items": [{"price": addon.pk}]}, now=APR1
    )
    assert features_of(customer) == ["api", "exports"]
    subscription_cancel(subscription=extra, now=d(4, 2))
    assert features_of(customer) == ["api"]
    assert summaries(customer) == [["api"], ["api", "exports"], ["api"]]


def test_attaching_and_detaching_a_feature_updates_subscribers(features):
    price = PriceFactory()
    customer = CustomerFactory()
    subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    assert features_of(customer) == []
    attached = product_feature_create(
        product=price.product, feature_id=features["sso"].pk, livemode=False
    )
    assert features_of(customer) == ["sso"]
    product_feature_delete(product_feature=attached)
    assert features_of(customer) == []
    assert summaries(customer) == [["sso"], []]

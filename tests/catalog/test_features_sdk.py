"""The official stripe SDK drives features, product features, active entitlements."""

from __future__ import annotations

import pytest

from core.models import Event


def test_features_product_features_and_entitlements_with_the_sdk(stripe_sdk):
    stripe = stripe_sdk
    feature = stripe.entitlements.Feature.create(
        name="Priority support", lookup_key="priority_support", metadata={"tier": "1"}
    )
    assert isinstance(feature, stripe.entitlements.Feature)
    assert feature.id.startswith("feat_")
    assert (feature.active, feature.livemode) == (True, False)
    assert feature.lookup_key == "priority_support"
    other = stripe.entitlements.Feature.create(name="SSO", lookup_key="sso")

    fetched = stripe.entitlements.Feature.retrieve(feature.id)
    assert fetched.metadata["tier"] == "1"
    renamed = stripe.entitlements.Feature.modify(feature.id, name="24/7 support")
    assert renamed.name == "24/7 support"
    assert renamed.lookup_key == "priority_support"
    listed = stripe.entitlements.Feature.list(lookup_key="sso")
    assert [f.id for f in listed.data] == [other.id]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.entitlements.Feature.create(name="Again", lookup_key="sso")
    assert refused.value.param == "lookup_key"

    product = stripe.Product.create(
        name="Pro plan",
        default_price_data={
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
        },
    )
    attached = stripe.Product.create_feature(product.id, entitlement_feature=feature.id)
    assert isinstance(attached, stripe.ProductFeature)
    assert attached.id.startswith("prodft_")
    assert attached.entitlement_feature.lookup_key == "priority_support"
    sso = stripe.Product.create_feature(product.id, entitlement_feature=other.id)
    features = stripe.Product.list_features(product.id)
    assert {f.id for f in features.data} == {attached.id, sso.id}
    assert stripe.Product.retrieve_feature(product.id, sso.id).id == sso.id
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.Product.create_feature(product.id, entitlement_feature="feat_missing")
    assert refused.value.param == "entitlement_feature"

    customer = stripe.Customer.create(email="jenny@example.com")
    assert stripe.entitlements.ActiveEntitlement.list(customer=customer.id).data == []
    stripe.Subscription.create(
        customer=customer.id, items=[{"price": product.default_price}]
    )
    held = stripe.entitlements.ActiveEntitlement.list(customer=customer.id)
    assert {e.lookup_key for e in held.data} == {"priority_support", "sso"}
    one = held.data[0]
    assert isinstance(one, stripe.entitlements.ActiveEntitlement)
    assert one.id.startswith("ent_")
    again = stripe.entitlements.ActiveEntitlement.retrieve(one.id, expand=["feature"])
    assert again.feature.object == "entitlements.feature"

    deleted = stripe.Product.delete_feature(product.id, sso.id)
    assert deleted.deleted is True
    held = stripe.entitlements.ActiveEntitlement.list(customer=customer.id)
    assert [e.lookup_key for e in held.data] == ["priority_support"]

    summaries = stripe.Event.list(
        type="entitlements.active_entitlement_summary.updated"
    )
    assert len(summaries.data) == 2
    latest = summaries.data[0].data.object
    assert latest.customer == customer.id
    assert [e.lookup_key for e in latest.entitlements.data] == ["priority_support"]
    assert (
        Event.objects.filter(
            type="entitlements.active_entitlement_summary.updated"
        ).count()
        == 2
    )

    archived = stripe.entitlements.Feature.modify(other.id, active=False)
    assert archived.active is False
    assert other.id not in {f.id for f in stripe.entitlements.Feature.list().data}
    assert [f.id for f in stripe.entitlements.Feature.list(archived=True).data] == [
        other.id
    ]

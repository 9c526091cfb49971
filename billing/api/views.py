"""``/v1/subscriptions``, ``/v1/subscription_items``: parse, one service, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing import selectors, services
from billing.api import params as p
from billing.api import serializers as s
from billing.models import Subscription, SubscriptionItem
from core import clock
from core.api.base import StripeView, deleted, get_or_404
from core.api.fields import ApiParams
from core.models import Customer


def customer_of(customer_id: str, *, param: str = "customer") -> Customer:
    return get_or_404(
        Customer.objects.filter(deleted=False).select_related("test_clock"),
        customer_id,
        "customer",
        param=param,
    )


def subscription_of(subscription_id: str, *, param: str = "id") -> Subscription:
    return get_or_404(
        Subscription.objects.select_related("customer__test_clock"),
        subscription_id,
        "subscription",
        param=param,
    )


def now_for(customer: Customer):
    return clock.now_for_customer(customer)


class SubscriptionListView(StripeView):
    @extend_schema(
        operation_id="ListSubscriptions",
        parameters=[p.SubscriptionListParams],
        responses=s.SubscriptionSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.SubscriptionListParams)
        rows = selectors.subscription_list(filters=params)
        return self.render_list(request, rows, params, object_name="subscription")

    @extend_schema(
        operation_id="CreateSubscription",
        request=p.SubscriptionCreateParams,
        responses=s.SubscriptionSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.SubscriptionCreateParams)
        customer = customer_of(params.pop("customer"))
        subscription = services.subscription_create(
            customer=customer, params=params, now=now_for(customer)
        )
        return self.render(subscription, params)


class SubscriptionDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveSubscription",
        parameters=[ApiParams],
        responses=s.SubscriptionSerializer,
    )
    def get(self, request, subscription_id):
        params = self.parse(request, ApiParams)
        return self.render(subscription_of(subscription_id), params)

    @extend_schema(
        operation_id="UpdateSubscription",
        request=p.SubscriptionUpdateParams,
        responses=s.SubscriptionSerializer,
    )
    def post(self, request, subscription_id):
        params = self.parse(request, p.SubscriptionUpdateParams)
        subscription = subscription_of(subscription_id)
        subscription = services.subscription_update(
            subscription=subscription,
            params=params,
            now=now_for(subscription.customer),
        )
        return self.render(subscription, params)

    @extend_schema(
        operation_id="CancelSubscription",
        parameters=[p.SubscriptionCancelParams],
        responses=s.SubscriptionSerializer,
    )
    def delete(self, request, subscription_id):
        params = self.parse(request, p.SubscriptionCancelParams)
        subscription = subscription_of(subscription_id)
        subscription = services.subscription_cancel(
            subscription=subscription,
            invoice_now=params["invoice_now"],
            prorate=params["prorate"],
            details=params.get("cancellation_details"),
            now=now_for(subscription.customer),
        )
        return self.render(subscription, params)


class SubscriptionItemListView(StripeView):
    @extend_schema(
        operation_id="ListSubscriptionItems",
        parameters=[p.SubscriptionItemListParams],
        responses=s.SubscriptionItemSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.SubscriptionItemListParams)
        subscription = subscription_of(params["subscription"], param="subscription")
        rows = SubscriptionItem.objects.filter(subscription=subscription)
        return self.render_list(
            request,
            rows.select_related("price"),
            params,
            object_name="subscription_item",
        )

    @extend_schema(
        operation_id="CreateSubscriptionItem",
        request=p.SubscriptionItemCreateParams,
        responses=s.SubscriptionItemSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.SubscriptionItemCreateParams)
        subscription = subscription_of(params.pop("subscription"), param="subscription")
        item = services.subscription_item_create(
            subscription=subscription,
            params=params,
            now=now_for(subscription.customer),
        )
        return self.render(item, params)


def item_of(item_id: str) -> SubscriptionItem:
    return get_or_404(
        SubscriptionItem.objects.select_related(
            "price", "subscription__customer__test_clock"
        ),
        item_id,
        "subscription_item",
    )


class SubscriptionItemDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveSubscriptionItem",
        parameters=[ApiParams],
        responses=s.SubscriptionItemSerializer,
    )
    def get(self, request, item_id):
        params = self.parse(request, ApiParams)
        return self.render(item_of(item_id), params)

    @extend_schema(
        operation_id="UpdateSubscriptionItem",
        request=p.SubscriptionItemUpdateParams,
        responses=s.SubscriptionItemSerializer,
    )
    def post(self, request, item_id):
        params = self.parse(request, p.SubscriptionItemUpdateParams)
        item = item_of(item_id)
        item = services.subscription_item_update(
            item=item, params=params, now=now_for(item.subscription.customer)
        )
        return self.render(item, params)

    @extend_schema(
        operation_id="DeleteSubscriptionItem",
        parameters=[p.SubscriptionItemDeleteParams],
        responses=s.SubscriptionItemSerializer,
    )
    def delete(self, request, item_id):
        params = self.parse(request, p.SubscriptionItemDeleteParams)
        item = item_of(item_id)
        services.subscription_item_delete(
            item=item, params=params, now=now_for(item.subscription.customer)
        )
        return Response(deleted(item_id, "subscription_item"))

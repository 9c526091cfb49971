"""``/v1/coupons``, ``/v1/promotion_codes`` and removing a customer's or a
subscription's discount: parse, one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing import selectors
from billing.api import serializers as s
from billing.api.params import coupons as p
from billing.api.render.discounts import discount as discount_object
from billing.api.views import customer_of, now_for, subscription_of
from billing.models import Coupon, PromotionCode
from billing.services import coupons, discounts
from core import clock
from core.api.base import StripeView, deleted, get_or_404
from core.api.fields import ApiParams


def _coupon(coupon_id: str) -> Coupon:
    return get_or_404(Coupon.objects.filter(deleted=False), coupon_id, "coupon")


def _promotion_code(code_id: str) -> PromotionCode:
    return get_or_404(
        PromotionCode.objects.select_related("coupon"), code_id, "promotion_code"
    )


class CouponListView(StripeView):
    @extend_schema(
        operation_id="ListCoupons",
        parameters=[p.CouponListParams],
        responses=s.CouponSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.CouponListParams)
        rows = selectors.coupon_list(filters=params)
        return self.render_list(request, rows, params, object_name="coupon")

    @extend_schema(
        operation_id="CreateCoupon",
        request=p.CouponCreateParams,
        responses=s.CouponSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.CouponCreateParams)
        coupon = coupons.coupon_create(params=params, now=clock.now())
        return self.render(coupon, params)


class CouponDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveCoupon",
        parameters=[ApiParams],
        responses=s.CouponSerializer,
    )
    def get(self, request, coupon_id):
        params = self.parse(request, ApiParams)
        return self.render(_coupon(coupon_id), params)

    @extend_schema(
        operation_id="UpdateCoupon",
        request=p.CouponUpdateParams,
        responses=s.CouponSerializer,
    )
    def post(self, request, coupon_id):
        params = self.parse(request, p.CouponUpdateParams)
        coupon = coupons.coupon_update(coupon=_coupon(coupon_id), params=params)
        return self.render(coupon, params)

    @extend_schema(operation_id="DeleteCoupon", responses=s.CouponSerializer)
    def delete(self, request, coupon_id):
        self.parse(request, ApiParams)
        coupons.coupon_delete(coupon=_coupon(coupon_id))
        return Response(deleted(coupon_id, "coupon"))


class PromotionCodeListView(StripeView):
    @extend_schema(
        operation_id="ListPromotionCodes",
        parameters=[p.PromotionCodeListParams],
        responses=s.PromotionCodeSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.PromotionCodeListParams)
        rows = selectors.promotion_code_list(filters=params)
        return self.render_list(request, rows, params, object_name="promotion_code")

    @extend_schema(
        operation_id="CreatePromotionCode",
        request=p.PromotionCodeCreateParams,
        responses=s.PromotionCodeSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.PromotionCodeCreateParams)
        code = coupons.promotion_code_create(params=params, now=clock.now())
        return self.render(code, params)


class PromotionCodeDetailView(StripeView):
    @extend_schema(
        operation_id="RetrievePromotionCode",
        parameters=[ApiParams],
        responses=s.PromotionCodeSerializer,
    )
    def get(self, request, code_id):
        params = self.parse(request, ApiParams)
        return self.render(_promotion_code(code_id), params)

    @extend_schema(
        operation_id="UpdatePromotionCode",
        request=p.PromotionCodeUpdateParams,
        responses=s.PromotionCodeSerializer,
    )
    def post(self, request, code_id):
        params = self.parse(request, p.PromotionCodeUpdateParams)
        code = coupons.promotion_code_update(
            promotion_code=_promotion_code(code_id), params=params, now=clock.now()
        )
        return self.render(code, params)


def _deleted_discount(row) -> dict:
    return {**discount_object(row), "deleted": True}


class CustomerDiscountView(StripeView):
    @extend_schema(
        operation_id="DeleteCustomerDiscount", responses=s.DiscountSerializer
    )
    def delete(self, request, customer_id):
        self.parse(request, ApiParams)
        customer = customer_of(customer_id, param="customer")
        row = discounts.customer_discount_remove(
            customer=customer, now=now_for(customer)
        )
        return Response(_deleted_discount(row))


class SubscriptionDiscountView(StripeView):
    @extend_schema(
        operation_id="DeleteSubscriptionDiscount", responses=s.DiscountSerializer
    )
    def delete(self, request, subscription_id):
        self.parse(request, ApiParams)
        subscription = subscription_of(subscription_id, param="subscription")
        row = discounts.subscription_discount_remove(
            subscription=subscription, now=now_for(subscription.customer)
        )
        return Response(_deleted_discount(row))

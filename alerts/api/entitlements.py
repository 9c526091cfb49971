"""``/v1/entitlements/active_entitlements``, ``/v1/billing/usage_limits`` and
``/v1/entitlements/check``.

Every lookup and list is limited to the mode of the caller's API key.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from alerts import selectors
from alerts.api.check import check_answer
from alerts.api.serializers import WholeNumberField
from alerts.models import ActiveEntitlement, UsageLimit
from alerts.services import usage_limits as services
from core import clock, resources
from core import context as request_context
from core.api.base import StripeView, get_or_404
from core.api.fields import (
    ApiParams,
    ConstField,
    ListParams,
    MetadataField,
    StripeInputSerializer,
    UnixField,
)
from core.errors import ResourceMissing


def _livemode() -> bool:
    return request_context.current().livemode


# ---- active entitlements ---------------------------------------------------------


class ActiveEntitlementListParams(ListParams):
    customer = serializers.CharField(max_length=64)


class ActiveEntitlementSerializer(serializers.Serializer):
    """``entitlements.active_entitlement``; ``expand[]=feature`` inlines it."""

    id = serializers.CharField(read_only=True)
    object = ConstField("entitlements.active_entitlement")
    feature = serializers.CharField(source="feature_id", read_only=True)
    livemode = serializers.BooleanField(read_only=True)
    lookup_key = serializers.CharField(read_only=True)


class ActiveEntitlementListView(StripeView):
    @extend_schema(
        operation_id="ListEntitlementsActiveEntitlements",
        parameters=[ActiveEntitlementListParams],
        responses=ActiveEntitlementSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, ActiveEntitlementListParams)
        rows = selectors.active_entitlement_list(
            customer_id=params["customer"], livemode=_livemode()
        )
        return self.render_list(
            request, rows, params, object_name="entitlements.active_entitlement"
        )


class ActiveEntitlementDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveEntitlementsActiveEntitlement",
        parameters=[ApiParams],
        responses=ActiveEntitlementSerializer,
    )
    def get(self, request, entitlement_id):
        params = self.parse(request, ApiParams)
        rows = ActiveEntitlement.objects.filter(livemode=_livemode())
        entitlement = get_or_404(
            rows, entitlement_id, "entitlements.active_entitlement"
        )
        return self.render(entitlement, params)


# ---- usage limits --------------------------------------------------------------------


class UsageLimitUsageParams(StripeInputSerializer):
    meter = serializers.CharField(max_length=64, required=False)
    gte = WholeNumberField()


class UsageLimitMonetaryParams(StripeInputSerializer):
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    amount_gte = WholeNumberField()


class UsageLimitCreateParams(ApiParams):
    limit_type = serializers.ChoiceField(choices=UsageLimit.LimitType.choices)
    customer = serializers.CharField(max_length=64, required=False)
    price = serializers.CharField(max_length=64, required=False)
    feature = serializers.CharField(max_length=80)
    usage = UsageLimitUsageParams(required=False)
    monetary = UsageLimitMonetaryParams(required=False)
    metadata = MetadataField()


class UsageLimitUpdateParams(ApiParams):
    usage = UsageLimitUsageParams(required=False)
    monetary = UsageLimitMonetaryParams(required=False)
    metadata = MetadataField()


class UsageLimitListParams(ListParams):
    customer = serializers.CharField(max_length=64, required=False)
    price = serializers.CharField(max_length=64, required=False)
    status = serializers.ChoiceField(choices=UsageLimit.Status.choices, required=False)


class UsageLevelSerializer(serializers.Serializer):
    meter = serializers.CharField(read_only=True)
    gte = serializers.IntegerField(read_only=True)


class MonetaryLevelSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    amount_gte = serializers.IntegerField(read_only=True)


class UsageLimitSerializer(serializers.Serializer):
    """``billing.usage_limit`` (Tally's own, shaped like Stripe's objects)."""

    id = serializers.CharField(read_only=True)
    object = ConstField("billing.usage_limit")
    created = UnixField()
    customer = serializers.CharField(source="customer_id", read_only=True)
    price = serializers.CharField(source="price_id", read_only=True)
    feature = serializers.SerializerMethodField()
    limit_type = serializers.CharField(read_only=True)
    usage = serializers.SerializerMethodField()
    monetary = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True)
    livemode = serializers.BooleanField(read_only=True)
    metadata = serializers.DictField(child=serializers.CharField(), read_only=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_feature(self, limit: UsageLimit):
        if "feature" in self.context.get("expand", ()):
            return resources.serialize(limit.feature)
        return limit.feature_id

    @extend_schema_field(UsageLevelSerializer(allow_null=True))
    def get_usage(self, limit: UsageLimit) -> dict | None:
        if limit.limit_type != UsageLimit.LimitType.USAGE:
            return None
        return {"meter": limit.meter_id, "gte": limit.gte}

    @extend_schema_field(MonetaryLevelSerializer(allow_null=True))
    def get_monetary(self, limit: UsageLimit) -> dict | None:
        if limit.limit_type != UsageLimit.LimitType.MONETARY:
            return None
        return {"currency": limit.currency, "amount_gte": limit.amount_gte}


def _limit(limit_id: str) -> UsageLimit:
    rows = UsageLimit.objects.filter(livemode=_livemode()).select_related("feature")
    return get_or_404(rows, limit_id, "billing.usage_limit")


class UsageLimitListView(StripeView):
    @extend_schema(
        operation_id="ListBillingUsageLimits",
        parameters=[UsageLimitListParams],
        responses=UsageLimitSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, UsageLimitListParams)
        rows = selectors.usage_limit_list(livemode=_livemode(), filters=params)
        return self.render_list(
            request, rows, params, object_name="billing.usage_limit"
        )

    @extend_schema(
        operation_id="CreateBillingUsageLimit",
        request=UsageLimitCreateParams,
        responses=UsageLimitSerializer,
    )
    def post(self, request):
        params = self.parse(request, UsageLimitCreateParams)
        limit = services.usage_limit_create(
            params=params, livemode=_livemode(), now=clock.now()
        )
        return self.render(limit, params)


class UsageLimitDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveBillingUsageLimit",
        parameters=[ApiParams],
        responses=UsageLimitSerializer,
    )
    def get(self, request, limit_id):
        params = self.parse(request, ApiParams)
        return self.render(_limit(limit_id), params)

    @extend_schema(
        operation_id="UpdateBillingUsageLimit",
        request=UsageLimitUpdateParams,
        responses=UsageLimitSerializer,
    )
    def post(self, request, limit_id):
        params = self.parse(request, UsageLimitUpdateParams)
        limit = services.usage_limit_update(
            limit=_limit(limit_id), params=params, now=clock.now()
        )
        return self.render(limit, params)


def _status_view(active: bool, operation_id: str):
    class UsageLimitStatusView(StripeView):
        @extend_schema(
            operation_id=operation_id, request=ApiParams, responses=UsageLimitSerializer
        )
        def post(self, request, limit_id):
            params = self.parse(request, ApiParams)
            limit = services.usage_limit_set_status(
                limit=_limit(limit_id), active=active, now=clock.now()
            )
            return self.render(limit, params)

    UsageLimitStatusView.__name__ = f"{operation_id}View"
    return UsageLimitStatusView


UsageLimitActivateView = _status_view(True, "ActivateBillingUsageLimit")
UsageLimitDeactivateView = _status_view(False, "DeactivateBillingUsageLimit")


# ---- check -------------------------------------------------------------------------


class CheckParams(StripeInputSerializer):
    customer = serializers.CharField(max_length=64)


class CheckLimitSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The usage limit (ulim_).")
    feature = serializers.CharField(help_text="Lookup key of the feature it cuts.")
    crossed = serializers.BooleanField(help_text="Whether it cuts the feature now.")
    remaining = serializers.IntegerField(
        help_text="Units (or minor units of spend) left before the limit."
    )
    gte = serializers.IntegerField(required=False, help_text="Usage limits.")
    currency = serializers.CharField(required=False, help_text="Monetary limits.")
    amount = serializers.IntegerField(
        required=False, help_text="Spend so far after credits (minor units)."
    )
    amount_gte = serializers.IntegerField(required=False, help_text="Monetary.")


class CheckPeriodSerializer(serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()


class CheckUsageSerializer(serializers.Serializer):
    meter = serializers.CharField()
    event_name = serializers.CharField()
    value = serializers.IntegerField(help_text="Usage so far this period.")
    period = CheckPeriodSerializer()
    limits = CheckLimitSerializer(many=True)


class CheckCreditSerializer(serializers.Serializer):
    currency = serializers.CharField()
    available = serializers.IntegerField(help_text="Available balance, minor units.")


class CheckSerializer(serializers.Serializer):
    """``entitlements.check``: what the customer may use now, in one read."""

    object = serializers.CharField(default="entitlements.check")
    customer = serializers.CharField()
    livemode = serializers.BooleanField()
    as_of = serializers.IntegerField(help_text="When the figures were read.")
    features = serializers.ListField(
        child=serializers.CharField(), help_text="Lookup keys of active features."
    )
    usage = CheckUsageSerializer(many=True)
    spend = CheckLimitSerializer(many=True, help_text="Monetary limits.")
    credits = CheckCreditSerializer(many=True)


class CheckView(StripeView):
    """What a product asks on each request: may this customer go on?

    One read of the customer's access snapshot (computed when missing).
    ``Cache-Control: private, max-age=2`` and a strong ``ETag``:
    ``If-None-Match`` with the current tag answers 304.
    """

    @extend_schema(
        operation_id="CheckEntitlements",
        parameters=[CheckParams],
        responses={
            200: CheckSerializer,
            304: OpenApiResponse(description="Not modified (If-None-Match)."),
        },
    )
    def get(self, request):
        params = self.parse(request, CheckParams)
        answer = check_answer(
            customer_id=params["customer"],
            livemode=_livemode(),
            if_none_match=request.headers.get("If-None-Match", ""),
        )
        if answer is None:
            raise ResourceMissing.for_id(
                "customer", params["customer"], param="customer"
            )
        return Response(answer.body, status=answer.status, headers=dict(answer.headers))

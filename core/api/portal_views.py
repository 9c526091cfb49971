"""``POST /v1/billing_portal/sessions``: a link to the customer's own pages.

Shaped like Stripe's customer portal session, so ``stripe.billing_portal.Session
.create(customer=..., return_url=...)`` works; ``url`` opens Tally's customer pages.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from core import clock
from core.api.base import StripeView, get_or_404
from core.api.fields import AlwaysNullField, ApiParams, ConstField, UnixField
from core.models import Customer
from core.services.portal import portal_session_create


class PortalSessionCreateParams(ApiParams):
    customer = serializers.CharField(max_length=64)
    return_url = serializers.URLField(
        required=False,
        allow_null=True,
        max_length=2048,
        validators=[URLValidator(schemes=["http", "https"])],
    )
    locale = serializers.CharField(required=False, allow_null=True, max_length=16)


class PortalSessionSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    object = ConstField("billing_portal.session")
    configuration = AlwaysNullField()
    created = UnixField()
    customer = serializers.CharField(source="customer_id", read_only=True)
    flow = AlwaysNullField()
    livemode = serializers.BooleanField(read_only=True)
    locale = AlwaysNullField()
    on_behalf_of = AlwaysNullField()
    return_url = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)
    # Beyond Stripe: when the link stops working.
    expires_at = UnixField()


def _base_url(request) -> str:
    return settings.TALLY_PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


class PortalSessionCreateView(StripeView):
    @extend_schema(
        operation_id="CreateBillingPortalSession",
        request=PortalSessionCreateParams,
        responses=PortalSessionSerializer,
    )
    def post(self, request):
        params = self.parse(request, PortalSessionCreateParams)
        customer = get_or_404(
            Customer.objects.filter(deleted=False),
            params["customer"],
            "customer",
            param="customer",
        )
        session = portal_session_create(
            customer=customer,
            now=clock.now(),
            return_url=params.get("return_url"),
            base_url=_base_url(request),
        )
        return self.render(session, params)

"""``/v1/webhook_endpoints``: create, retrieve, update, delete, list."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from core import clock, resources
from core import context as request_context
from core.api import webhook_serializers as s
from core.api.base import StripeView, deleted, get_or_404
from core.api.fields import ApiParams, ListParams
from core.models import WebhookEndpoint
from core.services import webhooks


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    return get_or_404(WebhookEndpoint.objects.all(), endpoint_id, "webhook_endpoint")


class WebhookEndpointListView(StripeView):
    @extend_schema(
        operation_id="ListWebhookEndpoints",
        parameters=[ListParams],
        responses=s.WebhookEndpointSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, ListParams)
        return self.render_list(
            request,
            WebhookEndpoint.objects.all(),
            params,
            object_name="webhook_endpoint",
        )

    @extend_schema(
        operation_id="CreateWebhookEndpoint",
        request=s.WebhookEndpointCreateParams,
        responses=s.WebhookEndpointCreatedSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.WebhookEndpointCreateParams)
        endpoint = webhooks.webhook_endpoint_create(
            params=params,
            livemode=request_context.current().livemode,
            now=clock.now(),
        )
        body = resources.serialize(endpoint, expand=params.get("expand", []))
        body["secret"] = endpoint.secret  # shown once, here only
        return Response(body)


class WebhookEndpointDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveWebhookEndpoint",
        parameters=[ApiParams],
        responses=s.WebhookEndpointSerializer,
    )
    def get(self, request, endpoint_id):
        params = self.parse(request, ApiParams)
        return self.render(_endpoint(endpoint_id), params)

    @extend_schema(
        operation_id="UpdateWebhookEndpoint",
        request=s.WebhookEndpointUpdateParams,
        responses=s.WebhookEndpointSerializer,
    )
    def post(self, request, endpoint_id):
        params = self.parse(request, s.WebhookEndpointUpdateParams)
        endpoint = webhooks.webhook_endpoint_update(
            endpoint=_endpoint(endpoint_id), params=params, now=clock.now()
        )
        return self.render(endpoint, params)

    @extend_schema(
        operation_id="DeleteWebhookEndpoint", responses=s.WebhookEndpointSerializer
    )
    def delete(self, request, endpoint_id):
        self.parse(request, ApiParams)
        webhooks.webhook_endpoint_delete(endpoint=_endpoint(endpoint_id))
        return Response(deleted(endpoint_id, "webhook_endpoint"))

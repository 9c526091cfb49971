"""``/v1/billing/alerts``: create, retrieve, list, activate, deactivate, archive."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.utils import extend_schema

from alerts import selectors, services
from alerts.api import serializers as s
from alerts.models import Alert
from alerts.services.alerts import CUSTOMER_PARAM
from core import clock
from core.api.base import StripeView, get_or_404
from core.api.fields import ApiParams
from core.errors import ResourceMissing
from core.models import Customer


def _filter_customer(params: dict, kind: str) -> Customer | None:
    """The customer of ``<kind>[filters][0]``; unknown ones are a 400."""
    filters = params[kind].get("filters") or []
    if not filters:
        return None
    customer_id = filters[0]["customer"]
    customer = (
        Customer.objects.filter(pk=customer_id, deleted=False)
        .select_related("test_clock")
        .first()
    )
    if customer is None:
        raise ResourceMissing(
            f"No such customer: '{customer_id}'",
            param=CUSTOMER_PARAM.replace("usage_threshold", kind),
            http_status=400,
        )
    return customer


def _alert(alert_id: str) -> Alert:
    return get_or_404(
        Alert.objects.select_related("meter", "customer__test_clock"),
        alert_id,
        "billing.alert",
    )


def _now(customer: Customer | None) -> datetime:
    """ "Now" of the alert's filter customer (its test clock), or real time."""
    return clock.now_for_customer(customer) if customer else clock.now()


class AlertListView(StripeView):
    @extend_schema(
        operation_id="ListBillingAlerts",
        parameters=[s.AlertListParams],
        responses=s.AlertSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.AlertListParams)
        rows = selectors.alert_list(
            alert_type=params.get("alert_type"),
            meter_id=params.get("meter"),
            customer_id=params.get("customer"),
        )
        return self.render_list(request, rows, params, object_name="billing.alert")

    @extend_schema(
        operation_id="CreateBillingAlert",
        request=s.AlertCreateParams,
        responses=s.AlertSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.AlertCreateParams)
        kind = params["alert_type"]
        customer = _filter_customer(params, kind)
        if kind == Alert.AlertType.CREDIT_BALANCE_THRESHOLD:
            level = params[kind]["lte"]["monetary"]
            alert = services.credit_balance_alert_create(
                title=params["title"],
                customer=customer,
                currency=level["currency"],
                value=level["value"],
                now=_now(customer),
            )
        else:
            threshold = params[kind]
            alert = services.alert_create(
                title=params["title"],
                meter_id=threshold["meter"],
                gte=threshold["gte"],
                customer=customer,
                now=_now(customer),
            )
        return self.render(alert, params)


class AlertDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveBillingAlert",
        parameters=[ApiParams],
        responses=s.AlertSerializer,
    )
    def get(self, request, alert_id):
        params = self.parse(request, ApiParams)
        return self.render(_alert(alert_id), params)


def _action_view(service, operation_id: str):
    class AlertActionView(StripeView):
        @extend_schema(
            operation_id=operation_id,
            request=ApiParams,
            responses=s.AlertSerializer,
        )
        def post(self, request, alert_id):
            params = self.parse(request, ApiParams)
            alert = _alert(alert_id)
            alert = service(alert=alert, now=_now(alert.customer))
            return self.render(alert, params)

    AlertActionView.__name__ = f"{operation_id}View"
    return AlertActionView


AlertActivateView = _action_view(services.alert_activate, "ActivateBillingAlert")
AlertDeactivateView = _action_view(services.alert_deactivate, "DeactivateBillingAlert")
AlertArchiveView = _action_view(services.alert_archive, "ArchiveBillingAlert")

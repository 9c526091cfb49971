from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and thresholds"

    def ready(self) -> None:
        from alerts.portal import SECTIONS
        from core.portal import register_sections

        register_sections(*SECTIONS)
        from alerts.api.check import check_lane
        from core.api import lane

        lane.register(
            "GET",
            "/v1/entitlements/check",
            check_lane,
            with_api_key=True,
            with_query=True,
        )
        from alerts.api import serializers
        from alerts.models import Alert, AlertTrigger
        from core import resources

        resources.register(
            resources.Resource(
                object_name="billing.alert",
                model=Alert,
                serializer=serializers.AlertSerializer,
            )
        )
        resources.register(
            resources.Resource(
                object_name="billing.alert_triggered",
                model=AlertTrigger,
                serializer=serializers.AlertTriggeredSerializer,
                expandable={"customer": "customer"},
            )
        )
        from alerts.api.entitlements import (
            ActiveEntitlementSerializer,
            UsageLimitSerializer,
        )
        from alerts.models import ActiveEntitlement, UsageLimit

        resources.register(
            resources.Resource(
                object_name="entitlements.active_entitlement",
                model=ActiveEntitlement,
                serializer=ActiveEntitlementSerializer,
                expandable={"feature": "entitlements.feature"},
            )
        )
        resources.register(
            resources.Resource(
                object_name="billing.usage_limit",
                model=UsageLimit,
                serializer=UsageLimitSerializer,
                expandable={
                    "customer": "customer",
                    "price": "price",
                    "feature": "entitlements.feature",
                },
            )
        )
        self._connect_receivers()
        self._register_time_handler()
        from alerts import dashboard

        dashboard.register()

    def _connect_receivers(self) -> None:
        from alerts import receivers
        from billing.signals import subscriptions_changed
        from catalog.signals import product_features_changed
        from core.services.events import on_event_recorded
        from metering.signals import meter_event_cancelled, usage_recorded

        subscriptions_changed.connect(
            receivers.on_subscriptions_changed, dispatch_uid="alerts.entitlements"
        )
        product_features_changed.connect(
            receivers.on_product_features_changed, dispatch_uid="alerts.entitlements"
        )
        on_event_recorded(
            receivers.on_event_recorded, many=receivers.on_events_recorded
        )
        usage_recorded.connect(receivers.on_usage_recorded)
        meter_event_cancelled.connect(receivers.on_meter_event_cancelled)

    def _register_time_handler(self) -> None:
        from alerts import services
        from core import clock

        # After billing (period close 10, finalize 20, settle 30) and credits (50)
        # at the same moment: thresholds see the new period and today's credits.
        clock.register_time_handler(
            clock.TimeHandler(
                name="alerts.evaluate",
                next_due=services.clock_next_due,
                run=services.clock_evaluate,
                order=60,
            )
        )

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and thresholds"

    def ready(self) -> None:
        from alerts.portal import SECTIONS
        from core.portal import register_sections

        register_sections(*SECTIONS)
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
        self._register_time_handler()
        self._connect_usage_signals()
        from alerts import dashboard

        dashboard.register()

    def _connect_usage_signals(self) -> None:
        from alerts import receivers
        from metering import signals

        signals.usage_recorded.connect(receivers.on_usage_recorded)
        signals.meter_event_cancelled.connect(receivers.on_meter_event_cancelled)

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

from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"
    verbose_name = "Metering"

    def ready(self) -> None:
        from core.portal import register_sections
        from metering.portal import SECTIONS

        register_sections(*SECTIONS)
        from core.api import lane
        from metering.api.lane import meter_event_create, meter_event_stream

        lane.register(
            "POST", "/v1/billing/meter_events", meter_event_create, with_api_key=True
        )
        lane.register(
            "POST",
            "/v2/billing/meter_event_stream",
            meter_event_stream,
            with_api_key=False,
        )
        from core import resources
        from metering.api import serializers
        from metering.models import Meter, MeterEvent, MeterEventAdjustment

        resources.register(
            resources.Resource(
                object_name="billing.meter",
                model=Meter,
                serializer=serializers.MeterSerializer,
            )
        )
        resources.register(
            resources.Resource(
                object_name="billing.meter_event",
                model=MeterEvent,
                serializer=serializers.MeterEventSerializer,
            )
        )
        resources.register(
            resources.Resource(
                object_name="billing.meter_event_adjustment",
                model=MeterEventAdjustment,
                serializer=serializers.MeterEventAdjustmentSerializer,
            )
        )
        self._register_dashboard()

    def _register_dashboard(self) -> None:
        from core import dashboard
        from metering.models import Meter

        dashboard.register_home_card(
            dashboard.HomeCard(
                name="meters",
                label="Active meters",
                value=lambda request: (
                    f"{Meter.objects.filter(status='active').count():,}"
                ),
                url="/admin/metering/meter/?status__exact=active",
                order=30,
            )
        )
        dashboard.register_quick_link(
            dashboard.QuickLink("Create meter", "admin:metering_meter_add", order=20)
        )

from django.urls import path

from metering.api import v2, views

urlpatterns = [
    path("v1/billing/meters", views.MeterListView.as_view()),
    path("v1/billing/meters/<str:meter_id>", views.MeterDetailView.as_view()),
    path(
        "v1/billing/meters/<str:meter_id>/deactivate",
        views.MeterDeactivateView.as_view(),
    ),
    path(
        "v1/billing/meters/<str:meter_id>/reactivate",
        views.MeterReactivateView.as_view(),
    ),
    path(
        "v1/billing/meters/<str:meter_id>/event_summaries",
        views.MeterEventSummaryListView.as_view(),
    ),
    path("v1/billing/meter_events", views.MeterEventCreateView.as_view()),
    path(
        "v1/billing/meter_event_adjustments",
        views.MeterEventAdjustmentCreateView.as_view(),
    ),
    path("v2/billing/meter_event_session", v2.MeterEventSessionView.as_view()),
    path("v2/billing/meter_event_stream", v2.MeterEventStreamView.as_view()),
    path("v2/billing/meter_events", v2.V2MeterEventCreateView.as_view()),
    path(
        "v2/billing/meter_event_adjustments",
        v2.V2MeterEventAdjustmentCreateView.as_view(),
    ),
]

from django.urls import path

from alerts.api import views

urlpatterns = [
    path("v1/billing/alerts", views.AlertListView.as_view()),
    path("v1/billing/alerts/<str:alert_id>", views.AlertDetailView.as_view()),
    path(
        "v1/billing/alerts/<str:alert_id>/activate",
        views.AlertActivateView.as_view(),
    ),
    path(
        "v1/billing/alerts/<str:alert_id>/deactivate",
        views.AlertDeactivateView.as_view(),
    ),
    path(
        "v1/billing/alerts/<str:alert_id>/archive",
        views.AlertArchiveView.as_view(),
    ),
]

from django.urls import path

from alerts.api import entitlements, views

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
    path(
        "v1/entitlements/active_entitlements",
        entitlements.ActiveEntitlementListView.as_view(),
    ),
    path(
        "v1/entitlements/active_entitlements/<str:entitlement_id>",
        entitlements.ActiveEntitlementDetailView.as_view(),
    ),
    path("v1/entitlements/check", entitlements.CheckView.as_view()),
    path("v1/billing/usage_limits", entitlements.UsageLimitListView.as_view()),
    path(
        "v1/billing/usage_limits/<str:limit_id>",
        entitlements.UsageLimitDetailView.as_view(),
    ),
    path(
        "v1/billing/usage_limits/<str:limit_id>/activate",
        entitlements.UsageLimitActivateView.as_view(),
    ),
    path(
        "v1/billing/usage_limits/<str:limit_id>/deactivate",
        entitlements.UsageLimitDeactivateView.as_view(),
    ),
]

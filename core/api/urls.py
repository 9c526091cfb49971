from django.urls import path

from core.api import balance_views, portal_views, views, webhook_views

urlpatterns = [
    path("v1/customers", views.CustomerListView.as_view()),
    path("v1/customers/<str:customer_id>", views.CustomerDetailView.as_view()),
    path(
        "v1/customers/<str:customer_id>/balance_transactions",
        balance_views.BalanceTransactionListView.as_view(),
    ),
    path(
        "v1/customers/<str:customer_id>/balance_transactions/"
        "<str:balance_transaction_id>",
        balance_views.BalanceTransactionDetailView.as_view(),
    ),
    path("v1/test_helpers/test_clocks", views.TestClockListView.as_view()),
    path(
        "v1/test_helpers/test_clocks/<str:test_clock_id>",
        views.TestClockDetailView.as_view(),
    ),
    path(
        "v1/test_helpers/test_clocks/<str:test_clock_id>/advance",
        views.TestClockAdvanceView.as_view(),
    ),
    path("v1/billing_portal/sessions", portal_views.PortalSessionCreateView.as_view()),
    path("v1/events", views.EventListView.as_view()),
    path("v1/events/<str:event_id>", views.EventDetailView.as_view()),
    path("v1/webhook_endpoints", webhook_views.WebhookEndpointListView.as_view()),
    path(
        "v1/webhook_endpoints/<str:endpoint_id>",
        webhook_views.WebhookEndpointDetailView.as_view(),
    ),
]

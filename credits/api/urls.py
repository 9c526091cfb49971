from django.urls import path

from credits.api import views

urlpatterns = [
    path("v1/billing/credit_grants", views.CreditGrantListView.as_view()),
    path(
        "v1/billing/credit_grants/<str:grant_id>",
        views.CreditGrantDetailView.as_view(),
    ),
    path(
        "v1/billing/credit_grants/<str:grant_id>/expire",
        views.CreditGrantExpireView.as_view(),
    ),
    path(
        "v1/billing/credit_grants/<str:grant_id>/void",
        views.CreditGrantVoidView.as_view(),
    ),
    path(
        "v1/billing/credit_balance_transactions",
        views.CreditBalanceTransactionListView.as_view(),
    ),
    path(
        "v1/billing/credit_balance_transactions/<str:transaction_id>",
        views.CreditBalanceTransactionDetailView.as_view(),
    ),
    path(
        "v1/billing/credit_balance_summary",
        views.CreditBalanceSummaryView.as_view(),
    ),
]

from django.urls import path

from payments.api import views

urlpatterns = [
    path("v1/payment_methods", views.PaymentMethodListView.as_view()),
    path(
        "v1/payment_methods/<str:payment_method_id>",
        views.PaymentMethodDetailView.as_view(),
    ),
    path(
        "v1/payment_methods/<str:payment_method_id>/attach",
        views.PaymentMethodAttachView.as_view(),
    ),
    path(
        "v1/payment_methods/<str:payment_method_id>/detach",
        views.PaymentMethodDetachView.as_view(),
    ),
    path(
        "v1/customers/<str:customer_id>/payment_methods",
        views.CustomerPaymentMethodListView.as_view(),
    ),
    path(
        "v1/customers/<str:customer_id>/payment_methods/<str:payment_method_id>",
        views.CustomerPaymentMethodDetailView.as_view(),
    ),
    path("v1/payment_intents", views.PaymentIntentListView.as_view()),
    path(
        "v1/payment_intents/<str:payment_intent_id>",
        views.PaymentIntentDetailView.as_view(),
    ),
    path("v1/invoice_payments", views.InvoicePaymentListView.as_view()),
    path(
        "v1/invoice_payments/<str:invoice_payment_id>",
        views.InvoicePaymentDetailView.as_view(),
    ),
    path("v1/refunds", views.RefundListView.as_view()),
    path("v1/refunds/<str:refund_id>", views.RefundDetailView.as_view()),
]

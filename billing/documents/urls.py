"""Public invoice links: ``/i/<token>/`` (hosted page) and ``/i/<token>/pdf``."""

from django.urls import path

from billing.documents import views

urlpatterns = [
    path("<str:token>/", views.hosted_invoice, name="hosted-invoice"),
    path("<str:token>/pdf", views.hosted_invoice_pdf, name="hosted-invoice-pdf"),
]

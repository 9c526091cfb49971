"""Public document links: ``/i/<token>/`` (hosted invoice page), ``/i/<token>/pdf``
(its PDF) and ``/i/cn/<token>/pdf`` (a credit note's PDF)."""

from django.urls import path

from billing.documents import views

urlpatterns = [
    path(
        "cn/<str:token>/pdf",
        views.hosted_credit_note_pdf,
        name="hosted-credit-note-pdf",
    ),
    path("<str:token>/", views.hosted_invoice, name="hosted-invoice"),
    path("<str:token>/pdf", views.hosted_invoice_pdf, name="hosted-invoice-pdf"),
]

"""The "Payments" block of the staff customer page: cards, recent attempts, top-up."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from core.models import Customer
from payments.models import AutoTopUp, PaymentAttempt, PaymentMethod

RECENT_ATTEMPTS = 5


def customer_panel(customer: Customer, request) -> SafeString:
    default = (customer.invoice_settings or {}).get("default_payment_method")
    return render_to_string(
        "payments/_customer_panel.html",
        {
            "customer": customer,
            "cards": PaymentMethod.objects.filter(customer=customer).order_by(
                "-created", "-id"
            ),
            "default": default,
            "attempts": PaymentAttempt.objects.filter(invoice__customer=customer)
            .select_related("invoice", "payment_method")
            .order_by("-created", "-id")[:RECENT_ATTEMPTS],
            "top_up": AutoTopUp.objects.filter(customer=customer).first(),
            "top_up_add": reverse("admin:payments_autotopup_add"),
        },
    )


def register() -> None:
    from core import dashboard

    dashboard.register_customer_panel(
        dashboard.CustomerPanel(
            name="payments", title="Payments", render=customer_panel, order=35
        )
    )

"""Dashboard pages of alerts and thresholds, served inside the Django admin.

"Create alert" (optionally for one customer), the alert page with its firings and
the activate / deactivate / archive buttons, and the customer page's panel. Each
page parses, calls one service or selector, and renders; ``alerts.admin`` routes
here and checks permissions.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from alerts import selectors, services
from alerts.forms import AlertForm
from alerts.models import Alert
from core import clock
from core.admin_pages import admin_page
from core.errors import TallyError
from core.models import Customer
from core.money import format_minor

PANEL_ROWS = 10


def alert_url(alert: Alert) -> str:
    return reverse("admin:alerts_alert_change", args=[quote(alert.pk)])


def alert_add_url(customer: Customer | None = None) -> str:
    add = reverse("admin:alerts_alert_add")
    return f"{add}?{urlencode({'customer': customer.pk})}" if customer else add


def _now(customer: Customer | None):
    return clock.now_for_customer(customer) if customer else clock.now()


def threshold_reason_text(reason: dict, currency: str) -> str:
    """``threshold_reason`` for people: "amount ≥ $100.00; usage ≥ 1,000"."""
    parts = []
    if reason.get("amount_gte") is not None:
        parts.append(f"amount ≥ {format_minor(reason['amount_gte'], currency)}")
    for entry in reason.get("item_reasons") or []:
        parts.append(f"usage ≥ {entry['usage_gte']:,}")
    return "; ".join(parts) or "—"


def customer_panel(customer: Customer, request) -> SafeString:
    """The "Alerts and thresholds" block of the customer page."""
    return render_to_string(
        "alerts/_customer_panel.html",
        {
            "customer": customer,
            "alerts": [
                {"entry": entry, "url": alert_url(entry.alert)}
                for entry in selectors.customer_alerts(
                    customer=customer, limit=PANEL_ROWS
                )
            ],
            "threshold_invoices": [
                {
                    "row": row,
                    "reached": threshold_reason_text(row.reason, row.invoice.currency),
                }
                for row in selectors.customer_threshold_invoices(
                    customer=customer, limit=PANEL_ROWS
                )
            ],
            "add_url": alert_add_url(customer),
        },
        request=request,
    )


def alert_create(request, *, model_admin):
    """Create alert: title, meter, threshold, and a customer or everyone."""
    data = request.POST if request.method == "POST" else None
    customer = Customer.objects.filter(
        pk=request.GET.get("customer") or "", deleted=False
    ).first()
    form = AlertForm(data, initial={"customer": customer})
    if data is not None and form.is_valid():
        kwargs = form.alert_kwargs()
        try:
            alert = services.alert_create(**kwargs, now=_now(kwargs["customer"]))
        except TallyError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Created the alert “{alert.title}”.")
            return HttpResponseRedirect(alert_url(alert))
    return admin_page(
        request,
        model_admin,
        "alerts/alert_create.html",
        "Create alert",
        form=form,
        customer=customer,
    )


def alert_detail(request, alert_id: str, *, model_admin):
    """The alert page: terms, status, firings, and the status buttons."""
    alert = get_object_or_404(
        Alert.objects.select_related("meter", "customer", "test_clock"), pk=alert_id
    )
    can_change = model_admin.has_change_permission(request, alert)
    archived = alert.status == Alert.Status.ARCHIVED
    return admin_page(
        request,
        model_admin,
        "alerts/alert_detail.html",
        alert.title,
        alert=alert,
        triggers=selectors.alert_triggers(alert=alert)[:200],
        trigger_count=alert.triggers.count(),
        can_activate=can_change and alert.status == Alert.Status.INACTIVE,
        can_deactivate=can_change and alert.status == Alert.Status.ACTIVE,
        can_archive=can_change and not archived,
    )


def _act(request, alert_id: str, action, done: str):
    alert = get_object_or_404(Alert.objects.select_related("customer"), pk=alert_id)
    try:
        action(alert=alert, now=_now(alert.customer))
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(alert_url(alert))


def alert_activate(request, alert_id: str, *, model_admin):
    """Activate the alert (POST)."""
    return _act(request, alert_id, services.alert_activate, "Activated the alert.")


def alert_deactivate(request, alert_id: str, *, model_admin):
    """Deactivate the alert (POST)."""
    return _act(request, alert_id, services.alert_deactivate, "Deactivated the alert.")


def alert_archive(request, alert_id: str, *, model_admin):
    """Archive the alert for good (POST)."""
    return _act(request, alert_id, services.alert_archive, "Archived the alert.")

"""Usage alerts on the customer's pages, and alerts customers set for themselves.

Beyond Stripe: from their pages a customer can ask to be emailed when their usage
of a meter reaches a number. These are ordinary ``usage_threshold`` alerts filtered
to that customer, marked in ``metadata`` so the customer can remove only their own
(alerts staff set stay listed but cannot be removed from here).
"""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from alerts.access_pages import REFRESH_SECONDS
from alerts.models import Alert, AlertTrigger
from alerts.services import limits
from alerts.services.alerts import GTE_PARAM, MAX_GTE, alert_archive, alert_create
from core.errors import TallyError
from core.portal import CustomerPage, PortalSection, customer_page
from metering.models import Meter

# ``metadata[created_from]`` of alerts a customer made on their own pages.
CUSTOMER_MADE = {"created_from": "customer_page"}


class OwnAlertForm(forms.Form):
    meter = forms.ModelChoiceField(
        queryset=Meter.objects.filter(status=Meter.Status.ACTIVE).order_by(
            "display_name", "pk"
        ),
        label="Usage of",
        empty_label=None,
    )
    gte = forms.IntegerField(label="reaches", min_value=1, max_value=MAX_GTE)


def _alerts(page: CustomerPage) -> list[dict]:
    alerts = list(
        Alert.objects.filter(customer=page.customer)
        .exclude(status=Alert.Status.ARCHIVED)
        .select_related("meter")
        .order_by("-created", "-id")
    )
    fired = {
        trigger.alert_id: trigger
        for trigger in AlertTrigger.objects.filter(
            customer=page.customer, alert__in=alerts
        )
    }
    return [
        {
            "alert": alert,
            "trigger": fired.get(alert.pk),
            "own": alert.metadata.get("created_from") == "customer_page",
        }
        for alert in alerts
    ]


def alerts_section(page: CustomerPage) -> str:
    return render_to_string(
        "alerts/portal/_alerts.html", {"rows": _alerts(page)[:5], "page": page}
    )


def _create(page: CustomerPage, form: OwnAlertForm) -> bool:
    meter, gte = form.cleaned_data["meter"], form.cleaned_data["gte"]
    try:
        alert_create(
            title=f"{meter.display_name} reached {gte:,}",
            meter_id=meter.pk,
            gte=gte,
            customer=page.customer,
            metadata=CUSTOMER_MADE,
            now=page.now,
        )
    except TallyError as error:
        form.add_error("gte" if error.param == GTE_PARAM else None, error.message)
        return False
    return True


@require_http_methods(["GET", "HEAD", "POST"])
@customer_page
def alerts_page(request, page: CustomerPage):
    form = OwnAlertForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and _create(page, form):
        return HttpResponseRedirect(page.url("alerts") + "?created=1")
    return page.render(
        "alerts/portal/alerts_page.html",
        {
            "rows": _alerts(page),
            "form": form,
            "created": request.GET.get("created") == "1",
            "nav": "alerts",
        },
    )


@require_POST
@customer_page
def alert_remove(request, page: CustomerPage, alert_id: str):
    alert = Alert.objects.filter(
        pk=alert_id, customer=page.customer, metadata__created_from="customer_page"
    ).first()
    if alert is None:
        raise Http404("No such alert of yours.")
    if alert.status != Alert.Status.ARCHIVED:
        alert_archive(alert=alert, now=page.now)
    return HttpResponseRedirect(page.url("alerts"))


def _access_data(page: CustomerPage) -> dict:
    access = limits.customer_access_get(
        customer_id=page.customer.pk, livemode=page.customer.livemode, now=page.now
    )
    return {"access": access.body}


def access_section(page: CustomerPage) -> str:
    """Features, usage against limits and credits, refreshed every few seconds.

    Hidden for customers with neither features nor usage limits.
    """
    data = _access_data(page)
    body = data["access"]
    limited = body["spend"] or any(row["limits"] for row in body["usage"])
    if not body["features"] and not limited:
        return ""
    return render_to_string(
        "alerts/_access_live.html",
        {
            "data": data,
            "json_url": page.url("access_json"),
            "refresh_seconds": REFRESH_SECONDS,
            "staff": False,
        },
    )


@require_GET
@customer_page
def access_json(request, page: CustomerPage):
    return JsonResponse(_access_data(page))


SECTIONS = [
    PortalSection(name="alerts", title="Usage alerts", render=alerts_section, order=35),
    PortalSection(
        name="access", title="Access and limits", render=access_section, order=15
    ),
]

urlpatterns = [
    path("access.json", access_json, name="access_json"),
    path("alerts/", alerts_page, name="alerts"),
    path("alerts/<str:alert_id>/remove/", alert_remove, name="alert_remove"),
]

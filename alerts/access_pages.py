"""Dashboard pages of usage limits and the live access block of a customer.

The customer page's "Access and limits" panel and the customer's own pages show
the access snapshot (features, usage against limits, credits) and refresh it
every few seconds from a small JSON endpoint, without reloading the page. Staff
also see each time a limit cut the customer's access, why, and when it ended.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from alerts import selectors
from alerts.limit_forms import UsageLimitForm, UsageLimitLevelForm
from alerts.models import UsageLimit, UsageLimitCrossing
from alerts.services import limits
from alerts.services import usage_limits as services
from core import clock
from core.admin_pages import admin_page
from core.api.fields import unix
from core.errors import TallyError
from core.models import Customer

CUT_ROWS = 20
# Seconds between two refreshes of a live access block.
REFRESH_SECONDS = 3


def limit_url(limit: UsageLimit) -> str:
    return reverse("admin:alerts_usagelimit_change", args=[quote(limit.pk)])


def _cut(crossing: UsageLimitCrossing) -> dict[str, Any]:
    limit = crossing.limit
    return {
        "limit": limit.pk,
        "limit_url": limit_url(limit),
        "feature": limit.feature.lookup_key,
        "limit_type": limit.limit_type,
        "currency": limit.currency,
        "value": int(crossing.value),
        "level": crossing.level,
        "cut_at": unix(crossing.created),
        "lifted_at": unix(crossing.lifted_at),
        "lift_reason": crossing.get_lift_reason_display()
        if crossing.lift_reason
        else "",
    }


def staff_access_data(customer: Customer) -> dict[str, Any]:
    """The live block's data: the access snapshot and the limits' cuts."""
    access = limits.customer_access_get(
        customer_id=customer.pk, livemode=customer.livemode, now=clock.now()
    )
    return {
        "access": access.body,
        "cuts": [
            _cut(crossing)
            for crossing in selectors.customer_limit_crossings(
                customer=customer, limit=CUT_ROWS
            )
        ],
    }


def customer_access_panel(customer: Customer, request) -> SafeString:
    """The "Access and limits" block of the customer page."""
    add = reverse("admin:alerts_usagelimit_add")
    return render_to_string(
        "alerts/_access_panel.html",
        {
            "customer": customer,
            "data": staff_access_data(customer),
            "json_url": reverse(
                "admin:alerts_usagelimit_access", args=[quote(customer.pk)]
            ),
            "add_limit_url": f"{add}?{urlencode({'customer': customer.pk})}",
            "add_feature_url": reverse("admin:catalog_feature_add"),
            "refresh_seconds": REFRESH_SECONDS,
            "staff": True,
        },
        request=request,
    )


def customer_access_json(request, customer_id: str, *, model_admin):
    """The live block's JSON (GET), polled by the customer page."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    customer = get_object_or_404(Customer, pk=unquote(customer_id))
    response = JsonResponse(staff_access_data(customer))
    response["Cache-Control"] = "private, no-store"
    return response


def usage_limit_create(request, *, model_admin):
    """Create usage limit: for a customer or a price, on units or spend."""
    data = request.POST if request.method == "POST" else None
    customer = Customer.objects.filter(
        pk=request.GET.get("customer") or "", deleted=False
    ).first()
    form = UsageLimitForm(data, initial={"customer": customer})
    if data is not None and form.is_valid():
        owner = form.cleaned_data["customer"] or form.cleaned_data["price"]
        try:
            limit = services.usage_limit_create(
                params=form.limit_params(),
                livemode=bool(owner and owner.livemode),
                now=clock.now(),
            )
        except TallyError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Created the usage limit {limit.pk}.")
            return HttpResponseRedirect(limit_url(limit))
    return admin_page(
        request,
        model_admin,
        "alerts/usage_limit_create.html",
        "Create usage limit",
        form=form,
    )


def usage_limit_detail(request, limit_id: str, *, model_admin):
    """The limit page: its terms, a form to change the level, its crossings."""
    limit = get_object_or_404(
        UsageLimit.objects.select_related(
            "feature", "meter", "customer", "price__product"
        ),
        pk=limit_id,
    )
    form = UsageLimitLevelForm(
        request.POST if request.method == "POST" else None,
        initial={"level": limit.level},
    )
    if request.method == "POST" and form.is_valid():
        key = "usage" if limit.limit_type == UsageLimit.LimitType.USAGE else "monetary"
        field = "gte" if key == "usage" else "amount_gte"
        try:
            services.usage_limit_update(
                limit=limit,
                params={key: {field: form.cleaned_data["level"]}},
                now=clock.now(),
            )
        except TallyError as error:
            form.add_error("level", error.message)
        else:
            messages.success(request, "Changed the limit's level.")
            return HttpResponseRedirect(limit_url(limit))
    can_change = model_admin.has_change_permission(request, limit)
    return admin_page(
        request,
        model_admin,
        "alerts/usage_limit_detail.html",
        f"Usage limit {limit.pk}",
        limit=limit,
        form=form if can_change else None,
        crossings=limit.crossings.select_related("customer").order_by(
            "-created", "-pk"
        )[:200],
        can_activate=can_change and limit.status == UsageLimit.Status.INACTIVE,
        can_deactivate=can_change and limit.status == UsageLimit.Status.ACTIVE,
    )


def _set_status(request, limit_id: str, active: bool):
    limit = get_object_or_404(UsageLimit, pk=limit_id)
    services.usage_limit_set_status(limit=limit, active=active, now=clock.now())
    messages.success(
        request, "Activated the limit." if active else "Deactivated the limit."
    )
    return HttpResponseRedirect(limit_url(limit))


def usage_limit_activate(request, limit_id: str, *, model_admin):
    """Activate the limit (POST)."""
    return _set_status(request, limit_id, True)


def usage_limit_deactivate(request, limit_id: str, *, model_admin):
    """Deactivate the limit (POST): it cuts nothing any more."""
    return _set_status(request, limit_id, False)

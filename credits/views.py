"""Dashboard pages of billing credits, served inside the Django admin.

The customer page's "Credit grants" panel (with "+" and the balance card), the "New
credit grant" page (seed 003), and the grant page with its ledger and the expire and
void buttons. Each page parses, calls one service or selector, and renders; the admin
classes in ``credits.admin`` route here and check permissions.
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

from core import clock
from core.admin_pages import admin_page
from core.errors import TallyError
from core.models import Customer
from credits import selectors, services
from credits.forms import CreditGrantForm
from credits.models import CreditGrant

# How many grants the customer panel lists before linking to the full list.
PANEL_GRANTS = 10


def grant_url(grant: CreditGrant) -> str:
    return reverse("admin:credits_creditgrant_change", args=[quote(grant.pk)])


def grant_add_url(customer: Customer) -> str:
    add = reverse("admin:credits_creditgrant_add")
    return f"{add}?{urlencode({'customer': customer.pk})}"


def _balances(customer: Customer) -> list[selectors.CurrencyBalance]:
    return selectors.credit_balance_summary(
        customer_id=customer.pk, now=clock.now_for_customer(customer)
    )


def customer_panel(customer: Customer, request) -> SafeString:
    """The "Credit grants" block of the customer page."""
    grants = list(
        customer.credit_grants.order_by("-created", "-pk")[: PANEL_GRANTS + 1]
    )
    return render_to_string(
        "credits/_customer_panel.html",
        {
            "customer": customer,
            "grants": [
                {"grant": grant, "url": grant_url(grant)}
                for grant in grants[:PANEL_GRANTS]
            ],
            "more_url": (
                f"{reverse('admin:credits_creditgrant_changelist')}?"
                f"{urlencode({'customer__id__exact': customer.pk})}"
                if len(grants) > PANEL_GRANTS
                else ""
            ),
            "balances": _balances(customer),
            "add_url": grant_add_url(customer),
        },
        request=request,
    )


def grant_create(request, *, model_admin):
    """New credit grant: name, amount, expiry date or never, category, priority."""
    data = request.POST if request.method == "POST" else None
    initial = {"customer": request.GET.get("customer")}
    form = CreditGrantForm(data, initial=initial)
    if data is not None and form.is_valid():
        kwargs = form.grant_kwargs()
        try:
            grant = services.credit_grant_create(
                **kwargs, now=clock.now_for_customer(kwargs["customer"])
            )
        except TallyError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Granted credits to {grant.customer}.")
            return HttpResponseRedirect(grant_url(grant))
    customer = Customer.objects.filter(pk=initial["customer"]).first()
    return admin_page(
        request,
        model_admin,
        "credits/grant_create.html",
        "New credit grant",
        form=form,
        customer=customer,
    )


def grant_detail(request, grant_id: str, *, model_admin):
    """The grant page: terms, remaining balance, ledger, expire and void."""
    grant = get_object_or_404(
        CreditGrant.objects.select_related("customer", "test_clock"), pk=grant_id
    )
    now = clock.now_for_customer(grant.customer)
    rows, running = [], 0
    for entry in grant.transactions.order_by("created", "pk"):
        running += entry.signed_amount
        rows.append({"entry": entry, "balance": running})
    live = grant.status in (CreditGrant.Status.PENDING, CreditGrant.Status.ACTIVE)
    lapsed = grant.expires_at is not None and grant.expires_at <= now
    can_change = model_admin.has_change_permission(request, grant)
    return admin_page(
        request,
        model_admin,
        "credits/grant_detail.html",
        grant.name or "Credit grant",
        grant=grant,
        scope_prices=selectors.grant_scope_prices(grant=grant),
        rows=rows,
        remaining=grant.balance,
        available=0 if lapsed else grant.balance,
        can_expire=can_change and live and not lapsed and grant.effective_at <= now,
        can_void=can_change and live and not lapsed,
        customer_url=reverse(
            "admin:core_customer_change", args=[quote(grant.customer_id)]
        ),
        now=now,
    )


def _act(request, grant_id: str, action, done: str):
    grant = get_object_or_404(
        CreditGrant.objects.select_related("customer"), pk=grant_id
    )
    try:
        action(grant=grant, now=clock.now_for_customer(grant.customer))
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(grant_url(grant))


def grant_expire(request, grant_id: str, *, model_admin):
    """Expire the grant now (POST); what is left is debited."""
    return _act(
        request, grant_id, services.credit_grant_expire, "Expired the credit grant."
    )


def grant_void(request, grant_id: str, *, model_admin):
    """Void the grant (POST); what is left is debited."""
    return _act(
        request, grant_id, services.credit_grant_void, "Voided the credit grant."
    )

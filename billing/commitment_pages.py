"""Commitments on the staff pages (subscription and customer) and the customer's
portal: each with its terms, and a prepaid one's balance, burn rate and projected
run-out date (``billing.commitment_status``). Staff make and void them from the
subscription page, through the same services as the API."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from billing.commitment_status import commitments_of
from billing.forms import parse_major
from billing.models import Commitment, Subscription
from billing.services.commitments import commitment_create, commitment_void
from core import clock
from core.errors import TallyError
from core.portal import CustomerPage, PortalSection


class CommitmentForm(forms.Form):
    """A commitment on the subscription, in its currency."""

    type = forms.ChoiceField(
        choices=[
            ("minimum_spend", "Minimum spend per period"),
            ("prepaid", "Prepaid amount over a term"),
        ]
    )
    amount = forms.DecimalField(
        label="Amount",
        decimal_places=2,
        max_digits=14,
        help_text="Per period (minimum spend) or for the whole term (prepaid).",
    )
    term_start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    term_end = forms.DateField(
        label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    proration = forms.ChoiceField(
        label="Periods cut short",
        choices=[
            ("first_and_last", "Prorate the first and the last"),
            ("first", "Prorate the first only"),
            ("last", "Prorate the last only"),
            ("none", "Owe the whole minimum"),
        ],
        initial="first_and_last",
        required=False,
        help_text="Minimum spend: a period the term or a cancellation cuts short.",
    )
    spend_scope = forms.ChoiceField(
        label="Counts towards the minimum",
        choices=[("usage", "Usage"), ("all_charges", "Usage and licensed fees")],
        initial="usage",
        required=False,
    )
    description = forms.CharField(required=False, max_length=500)
    bill_prepayment = forms.BooleanField(
        required=False, initial=True, label="Invoice the prepaid amount"
    )

    def to_params(self, subscription: Subscription) -> dict:
        """The API's parameters; ValidationError for amounts finer than cents."""
        data = self.cleaned_data
        params = {
            "type": data["type"],
            "subscription": subscription.pk,
            "amount": parse_major(str(data["amount"]), subscription.currency),
            "currency": subscription.currency,
            "bill_prepayment": data["bill_prepayment"],
        }
        term = {}
        for name, key in (("term_start", "start"), ("term_end", "end")):
            if data.get(name):
                term[key] = datetime.combine(data[name], time(), tzinfo=UTC)
        if term:
            params["term"] = term
        if data.get("description"):
            params["description"] = data["description"]
        if data["type"] == "minimum_spend":
            params["minimum_spend"] = {
                "proration": data.get("proration") or "first_and_last",
                "spend_scope": data.get("spend_scope") or "usage",
            }
        return params


def _rows(customer_id: str, subscription_id: str | None, now: datetime):
    return [
        {"commitment": commitment, "drawdown": drawdown}
        for commitment, drawdown in commitments_of(
            customer_id=customer_id, subscription_id=subscription_id, now=now
        )
    ]


def subscription_context(subscription: Subscription, now: datetime) -> dict:
    """What the subscription page's commitment panel shows."""
    return {
        "commitment_rows": _rows(subscription.customer_id, subscription.pk, now),
        "commitment_form": CommitmentForm(),
    }


def _subscription(subscription_id: str) -> Subscription:
    return get_object_or_404(
        Subscription.objects.select_related("customer__test_clock"),
        pk=subscription_id,
    )


def _back(subscription: Subscription) -> HttpResponseRedirect:
    page = reverse("admin:billing_subscription_change", args=[quote(subscription.pk)])
    return HttpResponseRedirect(f"{page}#commitments")


def subscription_commitment_create(request, subscription_id: str, *, model_admin):
    """Make a commitment on the subscription (the API's checks, the API's 4xx
    messages)."""
    subscription = _subscription(subscription_id)
    form = CommitmentForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(
                [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
            )
        commitment_create(
            params=form.to_params(subscription),
            now=clock.now_for_customer(subscription.customer),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Saved the commitment.")
    return _back(subscription)


def subscription_commitment_void(request, subscription_id: str, *, model_admin):
    """Void one of the subscription's commitments."""
    subscription = _subscription(subscription_id)
    commitment = get_object_or_404(
        Commitment, pk=request.POST.get("commitment", ""), subscription=subscription
    )
    try:
        commitment_void(
            commitment=commitment, now=clock.now_for_customer(subscription.customer)
        )
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Voided the commitment.")
    return _back(subscription)


def customer_panel(customer, request) -> SafeString:
    """The customer page's commitments (every subscription's); empty without."""
    rows = _rows(customer.pk, None, clock.now_for_customer(customer))
    return mark_safe(
        render_to_string("billing/_commitment_table.html", {"commitment_rows": rows})
    )


def commitments_section(page: CustomerPage) -> str:
    """The portal's commitments; hidden for customers without any."""
    rows = _rows(page.customer.pk, None, page.now)
    if not rows:
        return ""
    return render_to_string(
        "billing/portal/_commitments.html", {"commitment_rows": rows, "now": page.now}
    )


PORTAL_SECTION = PortalSection(
    name="commitments", title="Commitments", render=commitments_section, order=25
)

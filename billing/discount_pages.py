"""Dashboard pieces for discounts: the form that applies a coupon or promotion
code, its views on subscriptions and customers, and the customer page's panel."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from billing.models import Coupon, Discount, PromotionCode, Subscription
from billing.services import subscription_update
from billing.services.discounts import customer_discount, customer_discount_remove
from billing.services.discounts import customer_discount_set as _customer_set
from core import clock
from core.errors import TallyError
from core.models import Customer
from core.money import format_minor


class CouponChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, coupon: Coupon) -> str:
        return f"{coupon} — {coupon_terms(coupon)}"


def coupon_terms(coupon: Coupon) -> str:
    """'25% off forever', '10.00 USD off for 3 months'."""
    if coupon.percent_off is not None:
        amount = f"{coupon.percent_off.normalize():f}% off"
    else:
        amount = f"{format_minor(coupon.amount_off, coupon.currency)} off"
    if coupon.duration == "repeating":
        return f"{amount} for {coupon.duration_in_months} months"
    return f"{amount} {coupon.duration}"


class DiscountApplyForm(forms.Form):
    """A coupon, or a promotion code typed as the customer would."""

    coupon = CouponChoiceField(
        queryset=Coupon.objects.filter(deleted=False).order_by("-created"),
        required=False,
    )
    promotion_code = forms.CharField(required=False, max_length=500)

    def clean(self):
        data = super().clean()
        if bool(data.get("coupon")) == bool(data.get("promotion_code")):
            raise forms.ValidationError("Choose a coupon or type a promotion code.")
        return data

    def entry(self) -> dict[str, str]:
        """The ``discounts`` entry the form names (a code is looked up by text)."""
        if self.cleaned_data.get("coupon"):
            return {"coupon": self.cleaned_data["coupon"].pk}
        text = self.cleaned_data["promotion_code"].strip()
        code = PromotionCode.objects.filter(code__iexact=text, active=True).first()
        return {"promotion_code": code.pk if code else text}


def _back(request, fallback: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(request.POST.get("next") or fallback)


def subscription_discount_apply(request, subscription_id: str, *, model_admin):
    """Add a coupon or promotion code to the subscription's discounts (POST)."""
    subscription = get_object_or_404(
        Subscription.objects.select_related("customer__test_clock"),
        pk=subscription_id,
    )
    back = reverse("admin:billing_subscription_change", args=[subscription.pk])
    entries = [{"discount": pk} for pk in subscription.discounts]
    if request.POST.get("remove"):
        entries = [e for e in entries if e["discount"] != request.POST["remove"]]
    else:
        form = DiscountApplyForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.non_field_errors()))
            return _back(request, back)
        entries.append(form.entry())
    try:
        subscription_update(
            subscription=subscription,
            params={"discounts": entries},
            now=clock.now_for_customer(subscription.customer),
        )
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Updated the subscription's discounts.")
    return _back(request, back)


def customer_discount_apply(request, customer_id: str):
    """Give the customer a coupon or promotion code, or remove its discount."""
    customer = get_object_or_404(Customer, pk=customer_id)
    back = reverse("admin:core_customer_change", args=[customer.pk])
    now = clock.now_for_customer(customer)
    try:
        if request.POST.get("remove"):
            customer_discount_remove(customer=customer, now=now)
            messages.success(request, "Removed the customer's discount.")
            return _back(request, back)
        form = DiscountApplyForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.non_field_errors()))
            return _back(request, back)
        _customer_set_atomic(customer, form.entry(), now)
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Applied the discount to the customer.")
    return _back(request, back)


def _customer_set_atomic(customer: Customer, entry: dict, now) -> None:
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        _customer_set(customer=locked, entry=entry, now=now)


def customer_panel(customer, request) -> SafeString:
    """The customer page's discount: the current one, redemptions, the form."""
    current = customer_discount(customer)
    history = (
        Discount.objects.filter(customer=customer)
        .select_related("coupon", "promotion_code")
        .order_by("-created")[:10]
    )
    return mark_safe(
        render_to_string(
            "billing/discount_panel.html",
            {
                "discount": current,
                "discount_terms": coupon_terms(current.coupon) if current else "",
                "history": [(row, coupon_terms(row.coupon)) for row in history],
                "form": DiscountApplyForm(),
                "action": reverse(
                    "admin:billing_coupon_apply_customer", args=[customer.pk]
                ),
            },
            request=request,
        )
    )

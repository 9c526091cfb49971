"""The customer page's balance panel: the balance, its ledger with the running
balance, and the "Adjust balance" form (a credit or a debit, through the ledger)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe

from core import clock
from core.admin_pages import admin_page
from core.errors import TallyError
from core.models import Customer, CustomerBalanceTransaction
from core.money import currency_exponent
from core.services.balance import customer_balance_transaction_create

LEDGER_ROWS = 20


class BalanceAdjustForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[
            ("credit", "Credit (the customer's next invoices owe less)"),
            ("debit", "Debit (the customer owes more)"),
        ]
    )
    amount = forms.CharField(max_length=20, help_text="In major units, e.g. 25.00")
    currency = forms.RegexField(regex=r"^[A-Za-z]{3}$", max_length=3)
    description = forms.CharField(max_length=350, required=False)

    def minor_amount(self) -> int:
        """The signed amount in minor units (negative: a credit)."""
        currency = self.cleaned_data["currency"].lower()
        text = self.cleaned_data["amount"].replace(",", "").strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError("Enter an amount such as 25.00.") from None
        minor = value.scaleb(currency_exponent(currency))
        if minor <= 0 or minor != minor.to_integral_value():
            raise forms.ValidationError("Enter a positive amount for this currency.")
        sign = -1 if self.cleaned_data["direction"] == "credit" else 1
        return sign * int(minor)


def _link(entry: CustomerBalanceTransaction) -> str:
    """The dashboard page of the invoice or credit note a row came from."""
    target = ("creditnote", entry.credit_note) if entry.credit_note else None
    target = target or (("invoice", entry.invoice) if entry.invoice else None)
    if target is None:
        return ""
    try:
        return reverse(f"admin:billing_{target[0]}_change", args=[quote(target[1])])
    except NoReverseMatch:
        return ""


def balance_panel(customer: Customer, request) -> SafeString:
    rows = list(
        CustomerBalanceTransaction.objects.filter(customer=customer).order_by(
            "-sequence"
        )[:LEDGER_ROWS]
    )
    for row in rows:
        row.link = _link(row)
    currency = customer.currency or "usd"
    return mark_safe(
        render_to_string(
            "core/customer_balance_panel.html",
            {
                "customer": customer,
                "currency": currency,
                "rows": rows,
                "can_change": request.user.has_perm("core.change_customer"),
                "adjust_url": reverse(
                    "admin:core_customer_balance_adjust", args=[quote(customer.pk)]
                ),
            },
            request=request,
        )
    )


def balance_adjust(request, customer_id: str, *, model_admin):
    """The "Adjust balance" page: GET shows the form, POST appends an
    ``adjustment`` to the customer's ledger."""
    customer = get_object_or_404(Customer, pk=customer_id, deleted=False)
    if not model_admin.has_change_permission(request, customer):
        raise PermissionDenied
    back = reverse("admin:core_customer_change", args=[quote(customer.pk)])
    currency = customer.currency or "usd"
    form = BalanceAdjustForm(
        request.POST if request.method == "POST" else None,
        initial={"currency": currency},
    )
    if request.method == "POST" and form.is_valid():
        try:
            customer_balance_transaction_create(
                customer=customer,
                params={
                    "amount": form.minor_amount(),
                    "currency": form.cleaned_data["currency"].lower(),
                    "description": form.cleaned_data["description"] or None,
                },
                now=clock.now_for_customer(customer),
            )
        except forms.ValidationError as error:
            form.add_error("amount", error)
        except TallyError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Adjusted the customer's balance.")
            return HttpResponseRedirect(back)
    return admin_page(
        request,
        model_admin,
        "core/customer_balance_adjust.html",
        f"Adjust the balance of {customer}",
        customer=customer,
        currency=currency,
        form=form,
        back_url=back,
    )

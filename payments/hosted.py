"""Paying on the hosted invoice page (``/i/<token>/``): its pay form and its POST.

Billing shows the form this module registers (``billing.collection``); the form
posts to ``/i/<token>/pay``. The token in the link is what lets anyone holding it
see and pay that one invoice, as Stripe's hosted pages do; the form is also
CSRF-protected (Django's token and Origin check), and carries the number of
attempts it was shown with, so sending it twice charges once
(``invoice_pay_once``). The outcome is shown after a redirect, from the attempt
itself (``?attempt=<number>``), so a reload shows it again and charges nothing.
"""

from __future__ import annotations

from django import forms
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from billing.documents.links import hosted_invoice_path
from billing.documents.views import hosted_invoice_of, hosted_invoice_render
from core import clock, modes
from core.errors import TallyError
from payments.models import PaymentAttempt, PaymentMethod
from payments.portal import PAYABLE, PayForm
from payments.services.page_pay import invoice_pay_once


class HostedPayForm(PayForm):
    attempts = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


def _payable(invoice) -> bool:
    return invoice.status in PAYABLE and invoice.amount_remaining > 0


def _form(invoice, data=None) -> HostedPayForm:
    customer = invoice.customer
    cards = PaymentMethod.objects.filter(customer=customer).order_by("-created", "-id")
    return HostedPayForm(
        data,
        cards=list(cards),
        livemode=invoice.livemode,
        default_id=(customer.invoice_settings or {}).get("default_payment_method"),
        initial={"attempts": invoice.attempt_count},
    )


def _attempt_shown(request, invoice) -> PaymentAttempt | None:
    number = request.GET.get("attempt", "")
    if not number.isdigit() or len(number) > 6:
        return None
    return PaymentAttempt.objects.filter(invoice=invoice, number=int(number)).first()


def pay_panel(*, request, invoice, state: dict | None) -> str:
    """The hosted page's pay box: the outcome of the last try and the form."""
    with modes.scope(invoice.livemode):
        form = (state or {}).get("form") or _form(invoice)
        if _payable(invoice) and not form.fields["payment_method"].choices:
            return ""  # live mode, no saved card: nothing this page can charge
        return render_to_string(
            "payments/hosted/_pay.html",
            {
                "invoice": invoice,
                "form": form,
                "payable": _payable(invoice),
                "attempt": _attempt_shown(request, invoice),
                "action": f"{hosted_invoice_path(invoice)}pay",
            },
            request=request,
        )


def _see(invoice, attempt: PaymentAttempt | None) -> HttpResponseRedirect:
    query = f"?attempt={attempt.number}" if attempt is not None else ""
    response = HttpResponseRedirect(f"{hosted_invoice_path(invoice)}{query}#pay")
    response.status_code = 303  # see the page (GET), whatever the form's method
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


@require_POST
@csrf_protect
def hosted_invoice_pay(request, token: str):
    """Pay the hosted invoice with a saved card or (test mode) a test card."""
    invoice = hosted_invoice_of(token)
    if not _payable(invoice):
        return _see(invoice, None)  # paid or void meanwhile: the page says so
    with modes.scope(invoice.livemode):
        form = _form(invoice, request.POST)
        if not form.is_valid():
            return hosted_invoice_render(
                request, invoice, pay_state={"form": form}, status=400
            )
        try:
            attempt = invoice_pay_once(
                invoice=invoice,
                payment_method=form.cleaned_data["payment_method"],
                attempts_seen=form.cleaned_data["attempts"],
                now=clock.now_for_customer(invoice.customer),
            )
        except TallyError as error:
            invoice = hosted_invoice_of(token)
            if not _payable(invoice):
                return _see(invoice, None)
            form.add_error(None, error.message)
            return hosted_invoice_render(
                request, invoice, pay_state={"form": form}, status=error.http_status
            )
    return _see(invoice, attempt)

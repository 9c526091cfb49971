"""Paying on the customer's pages: their cards, and paying an open invoice.

A customer adds a card (in test mode one of Stripe's test cards, through the
simulator), makes one the default, removes one, and pays an open invoice with a
saved or new card. Every action goes through the same services as the API.
"""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from billing.models import Invoice
from core.errors import TallyError
from core.portal import CustomerPage, PortalSection, customer_page
from payments.models import PaymentMethod
from payments.services import payment_methods as methods
from payments.services.collection import invoice_pay

# The test cards offered on test-mode pages (Stripe's documented names).
TEST_CARDS = [
    ("pm_card_visa", "Visa •••• 4242 (succeeds)"),
    ("pm_card_mastercard", "Mastercard •••• 4444 (succeeds)"),
    ("pm_card_chargeDeclined", "Visa •••• 0002 (declined)"),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        "Visa •••• 9995 (insufficient funds)",
    ),
    ("pm_card_authenticationRequired", "Visa •••• 3184 (needs authentication)"),
]
PAYABLE = ("open", "uncollectible")
# The pages' forms carry no CSRF token: the pages send no referrer
# (``core.portal``), so browsers post them with ``Origin: null``, which Django's
# check refuses. The link's secret in the URL is what a forged request cannot know.
page_form = csrf_exempt


class AddCardForm(forms.Form):
    """Test mode: one of the test cards; live mode: the processor's method id."""

    card = forms.CharField(max_length=255, label="Card")

    def __init__(self, *args, livemode: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not livemode:
            self.fields["card"] = forms.ChoiceField(
                choices=TEST_CARDS, label="Test card"
            )


def _cards(page: CustomerPage) -> list[PaymentMethod]:
    return list(
        PaymentMethod.objects.filter(customer=page.customer).order_by("-created", "-id")
    )


def _default_id(page: CustomerPage) -> str | None:
    return (page.customer.invoice_settings or {}).get("default_payment_method")


def _open_invoices(page: CustomerPage):
    return Invoice.objects.filter(
        customer=page.customer, status__in=PAYABLE, amount_remaining__gt=0
    ).order_by("due_date", "finalized_at", "id")


def payments_section(page: CustomerPage) -> str:
    return render_to_string(
        "payments/portal/_section.html",
        {
            "page": page,
            "invoices": list(_open_invoices(page)[:5]),
            "default": next(
                (card for card in _cards(page) if card.pk == _default_id(page)), None
            ),
        },
    )


def _add(page: CustomerPage, form: AddCardForm) -> PaymentMethod | None:
    try:
        method = methods.payment_method_create(
            params={"payment_method": form.cleaned_data["card"]},
            customer=page.customer,
        )
    except TallyError as error:
        form.add_error("card", error.message)
        return None
    if not _default_id(page):
        methods.customer_default_payment_method_set(
            customer=page.customer, payment_method=method
        )
    return method


@page_form
@require_http_methods(["GET", "HEAD", "POST"])
@customer_page
def payment_methods_page(request, page: CustomerPage):
    livemode = page.customer.livemode
    form = AddCardForm(
        request.POST if request.method == "POST" else None, livemode=livemode
    )
    if request.method == "POST" and form.is_valid() and _add(page, form):
        return HttpResponseRedirect(page.url("payment_methods") + "?added=1")
    return page.render(
        "payments/portal/payment_methods.html",
        {
            "cards": _cards(page),
            "default_id": _default_id(page),
            "form": form,
            "added": request.GET.get("added") == "1",
            "nav": "payment_methods",
        },
    )


def _own_card(page: CustomerPage, payment_method_id: str) -> PaymentMethod:
    card = PaymentMethod.objects.filter(
        pk=payment_method_id, customer=page.customer
    ).first()
    if card is None:
        raise Http404("No such card of yours.")
    return card


@page_form
@require_POST
@customer_page
def payment_method_default(request, page: CustomerPage, payment_method_id: str):
    methods.customer_default_payment_method_set(
        customer=page.customer, payment_method=_own_card(page, payment_method_id)
    )
    return HttpResponseRedirect(page.url("payment_methods"))


@page_form
@require_POST
@customer_page
def payment_method_remove(request, page: CustomerPage, payment_method_id: str):
    methods.payment_method_detach(payment_method=_own_card(page, payment_method_id))
    return HttpResponseRedirect(page.url("payment_methods"))


class PayForm(forms.Form):
    payment_method = forms.ChoiceField(label="Pay with")

    def __init__(self, *args, cards, livemode: bool, default_id, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(card.pk, str(card)) for card in cards]
        if not livemode:
            choices += [(name, f"New {label}") for name, label in TEST_CARDS]
        self.fields["payment_method"].choices = choices
        if default_id:
            self.fields["payment_method"].initial = default_id


def _payable(page: CustomerPage, invoice_id: str) -> Invoice:
    invoice = (
        Invoice.objects.select_related("customer", "subscription")
        .filter(pk=invoice_id, customer=page.customer)
        .exclude(status="draft")
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


@page_form
@require_http_methods(["GET", "HEAD", "POST"])
@customer_page
def invoice_pay_page(request, page: CustomerPage, invoice_id: str):
    invoice = _payable(page, invoice_id)
    form = PayForm(
        request.POST if request.method == "POST" else None,
        cards=_cards(page),
        livemode=page.customer.livemode,
        default_id=_default_id(page),
    )
    if request.method == "POST" and form.is_valid() and invoice.status in PAYABLE:
        try:
            invoice = invoice_pay(
                invoice=invoice,
                payment_method=form.cleaned_data["payment_method"],
                off_session=False,
                now=page.now,
            )
        except TallyError as error:
            form.add_error(None, error.message)
        else:
            return HttpResponseRedirect(
                page.url("invoice_pay", invoice_id=invoice.pk) + "?paid=1"
            )
    return page.render(
        "payments/portal/invoice_pay.html",
        {
            "invoice": invoice,
            "form": form,
            "payable": invoice.status in PAYABLE and invoice.amount_remaining > 0,
            "paid": request.GET.get("paid") == "1",
            "nav": "invoices",
        },
    )


SECTIONS = [
    PortalSection(name="payments", title="Payment", render=payments_section, order=38)
]

urlpatterns = [
    path("payment-methods/", payment_methods_page, name="payment_methods"),
    path(
        "payment-methods/<str:payment_method_id>/default/",
        payment_method_default,
        name="payment_method_default",
    ),
    path(
        "payment-methods/<str:payment_method_id>/remove/",
        payment_method_remove,
        name="payment_method_remove",
    ),
    path("invoices/<str:invoice_id>/pay/", invoice_pay_page, name="invoice_pay"),
]

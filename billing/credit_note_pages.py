"""Dashboard pages of credit notes: issue one from an invoice (with a live
preview), look at one, void it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from billing.models import CreditNote, Invoice
from billing.services import credit_notes
from billing.services.credit_notes.amounts import DESTINATIONS
from billing.services.rerate import invoice_lines
from core import clock
from core.admin_pages import admin_page
from core.errors import InvalidRequest, TallyError
from core.money import currency_exponent, format_minor

DESTINATION_LABELS = {
    "credit_amount": "Credit the customer's balance (their next invoices take it)",
    "refund_amount": "Refund to the card that paid (through the payment processor)",
    "out_of_band_amount": "Credited outside Tally",
}


def credit_note_url(note: CreditNote) -> str:
    return reverse("admin:billing_creditnote_change", args=[quote(note.pk)])


def _minor(text: str, currency: str, field: str) -> int | None:
    text = (text or "").replace(",", "").strip()
    if not text:
        return None
    try:
        minor = Decimal(text).scaleb(currency_exponent(currency))
    except InvalidOperation:
        raise InvalidRequest("Enter amounts such as 12.50.", param=field) from None
    if minor <= 0 or minor != minor.to_integral_value():
        raise InvalidRequest("Enter a positive amount for this currency.", param=field)
    return int(minor)


def _quantity(text: str, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) <= 0:
        raise InvalidRequest("Enter a whole quantity.", param=field)
    return int(text)


def form_params(invoice: Invoice, data) -> tuple[dict[str, Any], str]:
    """The service's parameters from the page's fields, and where the credit goes."""
    lines = []
    for line in invoice_lines(invoice):
        quantity = _quantity(data.get(f"qty_{line.pk}"), f"qty_{line.pk}")
        amount = _minor(data.get(f"amt_{line.pk}"), invoice.currency, f"amt_{line.pk}")
        if quantity is None and amount is None:
            continue
        entry = {"type": "invoice_line_item", "invoice_line_item": line.pk}
        entry.update({"quantity": quantity} if quantity else {"amount": amount})
        lines.append(entry)
    custom = _minor(data.get("custom_amount"), invoice.currency, "custom_amount")
    if custom:
        lines.append(
            {
                "type": "custom_line_item",
                "description": data.get("custom_description") or "Credit",
                "quantity": 1,
                "unit_amount": custom,
            }
        )
    params: dict[str, Any] = {"lines": lines}
    if data.get("reason"):
        params["reason"] = data["reason"]
    if data.get("memo"):
        params["memo"] = data["memo"]
    destination = data.get("destination")
    if destination not in DESTINATIONS:
        destination = "credit_amount"
    return params, destination


def _invoice(invoice_id: str) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("customer__test_clock"), pk=invoice_id
    )


def credit_note_create(request, *, model_admin):
    """Issue a credit note on the invoice named by ``?invoice=``."""
    invoice = _invoice(request.GET.get("invoice") or request.POST.get("invoice", ""))
    error = None
    if request.method == "POST":
        try:
            params, destination = form_params(invoice, request.POST)
            note = credit_notes.credit_note_create(
                invoice=invoice,
                params=params,
                now=clock.now_for_customer(invoice.customer),
                post_payment_to=destination,
            )
        except TallyError as failure:
            error = failure.message
        else:
            messages.success(request, f"Issued the credit note {note.number}.")
            return HttpResponseRedirect(credit_note_url(note))
    return admin_page(
        request,
        model_admin,
        "billing/credit_note_create.html",
        f"Issue a credit note on {invoice.number or invoice.pk}",
        invoice=invoice,
        lines=invoice_lines(invoice),
        reasons=CreditNote.Reason.choices,
        destinations=DESTINATION_LABELS.items(),
        data=request.POST,
        error=error,
        preview_url=reverse("admin:billing_creditnote_preview"),
    )


def credit_note_preview(request, *, model_admin):
    """The live preview of the create page (JSON)."""
    invoice = _invoice(request.GET.get("invoice", ""))
    money = lambda amount: format_minor(amount, invoice.currency)  # noqa: E731
    try:
        params, destination = form_params(invoice, request.GET)
        note = credit_notes.credit_note_preview(
            invoice=invoice,
            params=params,
            now=clock.now_for_customer(invoice.customer),
            post_payment_to=destination,
        )
    except TallyError as error:
        return JsonResponse({"ok": False, "error": error.message})
    return JsonResponse(
        {
            "ok": True,
            "number": note.number,
            "total": money(note.total),
            "pre_payment": money(note.pre_payment_amount),
            "post_payment": money(note.post_payment_amount),
            "lines": [
                {"description": line.description or "", "amount": money(line.amount)}
                for line in note._prefetched_lines
            ],
        }
    )


def credit_note_detail(request, credit_note_id: str, *, model_admin):
    note = get_object_or_404(
        CreditNote.objects.select_related("invoice", "customer"), pk=credit_note_id
    )
    return admin_page(
        request,
        model_admin,
        "billing/credit_note_detail.html",
        f"Credit note {note.number}",
        note=note,
        lines=list(note.lines.order_by("position")),
        invoice_url=reverse(
            "admin:billing_invoice_change", args=[quote(note.invoice_id)]
        ),
        customer_url=reverse(
            "admin:core_customer_change", args=[quote(note.customer_id)]
        ),
    )


def credit_note_action(request, credit_note_id: str, action: str, *, model_admin):
    note = get_object_or_404(
        CreditNote.objects.select_related("invoice__customer__test_clock"),
        pk=credit_note_id,
    )
    if action != "void":
        raise Http404("Unknown credit note action")
    try:
        credit_notes.credit_note_void(
            credit_note=note, now=clock.now_for_customer(note.invoice.customer)
        )
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Voided the credit note.")
    return HttpResponseRedirect(credit_note_url(note))

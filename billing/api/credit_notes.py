"""``/v1/credit_notes``: create, preview, retrieve, lines, update, void, list."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.api.params import credit_notes as p
from billing.api.render import credit_notes as render
from billing.api.views import now_for
from billing.models import CreditNote, CreditNoteLineItem, Invoice
from billing.services import credit_notes as services
from core.api.base import StripeView, get_or_404
from core.api.fields import ApiParams, ListParams
from core.api.pagination import filter_range

_ro = {"read_only": True}

# ---- output -----------------------------------------------------------------------


class CreditNoteLineItemSerializer(serializers.Serializer):
    """``credit_note_line_item`` (``cnli_``)."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    amount = serializers.IntegerField(**_ro)
    description = serializers.CharField(read_only=True, allow_null=True)
    discount_amount = serializers.IntegerField(**_ro)
    discount_amounts = serializers.ListField(**_ro)
    invoice_line_item = serializers.CharField(read_only=True, allow_null=True)
    livemode = serializers.BooleanField(**_ro)
    metadata = serializers.DictField(**_ro)
    pretax_credit_amounts = serializers.ListField(**_ro)
    quantity = serializers.IntegerField(read_only=True, allow_null=True)
    tax_rates = serializers.ListField(**_ro)
    taxes = serializers.ListField(**_ro)
    type = serializers.CharField(**_ro)
    unit_amount = serializers.IntegerField(read_only=True, allow_null=True)
    unit_amount_decimal = serializers.CharField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        return render.credit_note_line(instance)


class CreditNoteSerializer(serializers.Serializer):
    """``credit_note`` (``cn_``)."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    amount = serializers.IntegerField(**_ro)
    created = serializers.IntegerField(**_ro)
    currency = serializers.CharField(**_ro)
    customer = serializers.CharField(**_ro)
    customer_balance_transaction = serializers.CharField(
        read_only=True, allow_null=True
    )
    discount_amount = serializers.IntegerField(**_ro)
    effective_at = serializers.IntegerField(read_only=True, allow_null=True)
    invoice = serializers.CharField(**_ro)
    memo = serializers.CharField(read_only=True, allow_null=True)
    number = serializers.CharField(**_ro)
    out_of_band_amount = serializers.IntegerField(read_only=True, allow_null=True)
    pdf = serializers.CharField(read_only=True, allow_null=True)
    post_payment_amount = serializers.IntegerField(**_ro)
    pre_payment_amount = serializers.IntegerField(**_ro)
    reason = serializers.CharField(read_only=True, allow_null=True)
    refunds = serializers.ListField(child=serializers.DictField(), **_ro)
    status = serializers.CharField(**_ro)
    subtotal = serializers.IntegerField(**_ro)
    total = serializers.IntegerField(**_ro)
    total_taxes = serializers.ListField(**_ro)
    type = serializers.CharField(**_ro)
    voided_at = serializers.IntegerField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        return render.credit_note(instance, lines_url=self.context.get("lines_url"))


# ---- views ------------------------------------------------------------------------


def _invoice(invoice_id: str) -> Invoice:
    return get_or_404(
        Invoice.objects.select_related("customer__test_clock"),
        invoice_id,
        "invoice",
        param="invoice",
    )


def _credit_note(credit_note_id: str) -> CreditNote:
    return get_or_404(
        CreditNote.objects.select_related("invoice__customer__test_clock"),
        credit_note_id,
        "credit_note",
    )


def _list_of(data: list, url: str, has_more: bool = False) -> dict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


class CreditNoteListView(StripeView):
    @extend_schema(
        operation_id="ListCreditNotes",
        parameters=[p.CreditNoteListParams],
        responses=CreditNoteSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.CreditNoteListParams)
        rows = CreditNote.objects.all()
        for key in ("invoice", "customer"):
            if key in params:
                rows = rows.filter(**{f"{key}_id": params[key]})
        rows = filter_range(rows, "created", params.get("created"))
        return self.render_list(request, rows, params, object_name="credit_note")

    @extend_schema(
        operation_id="CreateCreditNote",
        request=p.CreditNoteParams,
        responses=CreditNoteSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.CreditNoteParams)
        invoice = _invoice(params["invoice"])
        note = services.credit_note_create(
            invoice=invoice, params=params, now=now_for(invoice.customer)
        )
        return self.render(note, params)


class CreditNotePreviewView(StripeView):
    @extend_schema(
        operation_id="PreviewCreditNote",
        parameters=[p.CreditNoteParams],
        responses=CreditNoteSerializer,
    )
    def get(self, request):
        params = self.parse(request, p.CreditNoteParams)
        invoice = _invoice(params["invoice"])
        note = services.credit_note_preview(
            invoice=invoice, params=params, now=now_for(invoice.customer)
        )
        return Response(
            render.credit_note(note, lines_url="/v1/credit_notes/preview/lines")
        )


class CreditNotePreviewLinesView(StripeView):
    @extend_schema(
        operation_id="PreviewCreditNoteLines",
        parameters=[p.CreditNotePreviewLinesParams],
        responses=CreditNoteLineItemSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.CreditNotePreviewLinesParams)
        invoice = _invoice(params["invoice"])
        note = services.credit_note_preview(
            invoice=invoice, params=params, now=now_for(invoice.customer)
        )
        # Preview lines are made anew on each call: one page, no cursors.
        lines = render.credit_note_lines(note)
        shown = lines[: params["limit"]]
        return Response(
            _list_of(
                [render.credit_note_line(line) for line in shown],
                request.path,
                has_more=len(lines) > len(shown),
            )
        )


class CreditNoteDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveCreditNote",
        parameters=[ApiParams],
        responses=CreditNoteSerializer,
    )
    def get(self, request, credit_note_id):
        params = self.parse(request, ApiParams)
        return self.render(_credit_note(credit_note_id), params)

    @extend_schema(
        operation_id="UpdateCreditNote",
        request=p.CreditNoteUpdateParams,
        responses=CreditNoteSerializer,
    )
    def post(self, request, credit_note_id):
        params = self.parse(request, p.CreditNoteUpdateParams)
        note = services.credit_note_update(
            credit_note=_credit_note(credit_note_id), params=params
        )
        return self.render(note, params)


class CreditNoteVoidView(StripeView):
    @extend_schema(
        operation_id="VoidCreditNote", request=ApiParams, responses=CreditNoteSerializer
    )
    def post(self, request, credit_note_id):
        params = self.parse(request, ApiParams)
        note = _credit_note(credit_note_id)
        note = services.credit_note_void(
            credit_note=note, now=now_for(note.invoice.customer)
        )
        return self.render(note, params)


class CreditNoteLineListView(StripeView):
    @extend_schema(
        operation_id="ListCreditNoteLines",
        parameters=[ListParams],
        responses=CreditNoteLineItemSerializer(many=True),
    )
    def get(self, request, credit_note_id):
        params = self.parse(request, ListParams)
        note = _credit_note(credit_note_id)
        rows = CreditNoteLineItem.objects.filter(credit_note=note)
        return self.render_list(
            request,
            rows,
            params,
            object_name="credit_note_line_item",
            newest_first=False,
            order_field="position",
        )

"""``/v1/invoices``, their lines, previews, and ``/v1/invoiceitems``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing import selectors, services
from billing.api import params as p
from billing.api import serializers as s
from billing.api.views import customer_of, now_for, subscription_of
from billing.models import Invoice, InvoiceItem, InvoiceLineItem
from core import clock
from core.api.base import StripeView, deleted, get_or_404
from core.api.fields import ApiParams, ListParams
from core.errors import InvalidRequest


def invoice_of(invoice_id: str) -> Invoice:
    return get_or_404(
        Invoice.objects.select_related("customer__test_clock", "subscription"),
        invoice_id,
        "invoice",
    )


def _now(invoice: Invoice):
    return now_for(invoice.customer)


class InvoiceListView(StripeView):
    @extend_schema(
        operation_id="ListInvoices",
        parameters=[p.InvoiceListParams],
        responses=s.InvoiceSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.InvoiceListParams)
        rows = selectors.invoice_list(filters=params)
        return self.render_list(request, rows, params, object_name="invoice")

    @extend_schema(
        operation_id="CreateInvoice",
        request=p.InvoiceCreateParams,
        responses=s.InvoiceSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.InvoiceCreateParams)
        customer = customer_of(params.pop("customer"))
        invoice = services.invoice_create(
            customer=customer, params=params, now=now_for(customer)
        )
        return self.render(invoice, params)


class InvoiceDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveInvoice",
        parameters=[ApiParams],
        responses=s.InvoiceSerializer,
    )
    def get(self, request, invoice_id):
        params = self.parse(request, ApiParams)
        return self.render(invoice_of(invoice_id), params)

    @extend_schema(
        operation_id="UpdateInvoice",
        request=p.InvoiceUpdateParams,
        responses=s.InvoiceSerializer,
    )
    def post(self, request, invoice_id):
        params = self.parse(request, p.InvoiceUpdateParams)
        invoice = services.invoice_update(invoice=invoice_of(invoice_id), params=params)
        return self.render(invoice, params)

    @extend_schema(operation_id="DeleteInvoice", responses=s.InvoiceSerializer)
    def delete(self, request, invoice_id):
        self.parse(request, ApiParams)
        services.invoice_delete(invoice=invoice_of(invoice_id))
        return Response(deleted(invoice_id, "invoice"))


class InvoiceFinalizeView(StripeView):
    @extend_schema(
        operation_id="FinalizeInvoice",
        request=p.InvoiceFinalizeParams,
        responses=s.InvoiceSerializer,
    )
    def post(self, request, invoice_id):
        params = self.parse(request, p.InvoiceFinalizeParams)
        invoice = invoice_of(invoice_id)
        invoice = services.invoice_finalize_manual(
            invoice=invoice, now=_now(invoice), auto_advance=params.get("auto_advance")
        )
        return self.render(invoice, params)


class InvoicePayView(StripeView):
    @extend_schema(
        operation_id="PayInvoice",
        request=p.InvoicePayParams,
        responses=s.InvoiceSerializer,
    )
    def post(self, request, invoice_id):
        params = self.parse(request, p.InvoicePayParams)
        invoice = invoice_of(invoice_id)
        invoice = services.invoice_pay(
            invoice=invoice,
            paid_out_of_band=params["paid_out_of_band"],
            payment_method=params.get("payment_method"),
            off_session=params.get("off_session"),
            now=_now(invoice),
        )
        return self.render(invoice, params)


def _action(service, operation_id: str):
    class ActionView(StripeView):
        @extend_schema(
            operation_id=operation_id, request=ApiParams, responses=s.InvoiceSerializer
        )
        def post(self, request, invoice_id):
            params = self.parse(request, ApiParams)
            invoice = invoice_of(invoice_id)
            invoice = service(invoice=invoice, now=_now(invoice))
            return self.render(invoice, params)

    ActionView.__name__ = f"{operation_id}View"
    return ActionView


InvoiceVoidView = _action(services.invoice_void, "VoidInvoice")
InvoiceMarkUncollectibleView = _action(
    services.invoice_mark_uncollectible, "MarkUncollectibleInvoice"
)
InvoiceSendView = _action(services.invoice_send, "SendInvoice")


class InvoiceLineListView(StripeView):
    @extend_schema(
        operation_id="ListInvoiceLines",
        parameters=[ListParams],
        responses=s.LineItemSerializer(many=True),
    )
    def get(self, request, invoice_id):
        params = self.parse(request, ListParams)
        invoice = invoice_of(invoice_id)
        rows = InvoiceLineItem.objects.filter(invoice=invoice).select_related("price")
        return self.render_list(
            request,
            rows,
            params,
            object_name="line_item",
            newest_first=False,
            order_field="position",
        )


class InvoiceLineDetailView(StripeView):
    @extend_schema(
        operation_id="UpdateInvoiceLine",
        request=p.LineUpdateParams,
        responses=s.LineItemSerializer,
    )
    def post(self, request, invoice_id, line_id):
        params = self.parse(request, p.LineUpdateParams)
        invoice = invoice_of(invoice_id)
        line = get_or_404(
            InvoiceLineItem.objects.filter(invoice=invoice), line_id, "line_item"
        )
        line = services.invoice_line_update(invoice=invoice, line=line, params=params)
        return self.render(line, params)


def _preview(params: dict, details: dict) -> dict:
    customer = subscription = None
    if params.get("subscription"):
        subscription = subscription_of(params["subscription"], param="subscription")
    if params.get("customer"):
        customer = customer_of(params["customer"])
        if subscription and subscription.customer_id != customer.pk:
            raise InvalidRequest(
                "The subscription does not belong to this customer.",
                param="subscription",
            )
    who = customer or (subscription.customer if subscription else None)
    extra = {"discounts": params["discounts"]} if "discounts" in params else {}
    return services.invoice_preview(
        customer=customer,
        subscription=subscription,
        details=details,
        invoice_items=params.get("invoice_items"),
        customer_details=params.get("customer_details"),
        now=now_for(who) if who else clock.now(),
        **extra,
    )


class InvoicePreviewView(StripeView):
    @extend_schema(
        operation_id="CreatePreviewInvoice",
        request=p.InvoicePreviewParams,
        responses=s.InvoiceSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.InvoicePreviewParams)
        return Response(_preview(params, params.get("subscription_details") or {}))


class InvoiceUpcomingView(StripeView):
    """The legacy (≤ acacia) preview; its invoice has no id."""

    @extend_schema(
        operation_id="UpcomingInvoice",
        parameters=[p.UpcomingParams],
        responses=s.InvoiceSerializer,
    )
    def get(self, request):
        serializer = p.UpcomingParams(data=self.params(request))
        serializer.is_valid(raise_exception=True)
        data = _preview(dict(serializer.validated_data), serializer.details())
        data.pop("id", None)
        return Response(data)


# ---- invoice items -------------------------------------------------------------


def item_of(item_id: str) -> InvoiceItem:
    return get_or_404(
        InvoiceItem.objects.select_related("customer__test_clock", "price"),
        item_id,
        "invoiceitem",
    )


class InvoiceItemListView(StripeView):
    @extend_schema(
        operation_id="ListInvoiceItems",
        parameters=[p.InvoiceItemListParams],
        responses=s.InvoiceItemSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.InvoiceItemListParams)
        rows = selectors.invoice_item_list(filters=params)
        return self.render_list(request, rows, params, object_name="invoiceitem")

    @extend_schema(
        operation_id="CreateInvoiceItem",
        request=p.InvoiceItemCreateParams,
        responses=s.InvoiceItemSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.InvoiceItemCreateParams)
        customer = customer_of(params.pop("customer"))
        item = services.invoice_item_create(
            customer=customer, params=params, now=now_for(customer)
        )
        return self.render(item, params)


class InvoiceItemDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveInvoiceItem",
        parameters=[ApiParams],
        responses=s.InvoiceItemSerializer,
    )
    def get(self, request, item_id):
        params = self.parse(request, ApiParams)
        return self.render(item_of(item_id), params)

    @extend_schema(
        operation_id="UpdateInvoiceItem",
        request=p.InvoiceItemUpdateParams,
        responses=s.InvoiceItemSerializer,
    )
    def post(self, request, item_id):
        params = self.parse(request, p.InvoiceItemUpdateParams)
        item = services.invoice_item_update(item=item_of(item_id), params=params)
        return self.render(item, params)

    @extend_schema(operation_id="DeleteInvoiceItem", responses=s.InvoiceItemSerializer)
    def delete(self, request, item_id):
        self.parse(request, ApiParams)
        services.invoice_item_delete(item=item_of(item_id))
        return Response(deleted(item_id, "invoiceitem"))

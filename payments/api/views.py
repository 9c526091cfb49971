"""``/v1/payment_methods``, customers' payment methods, payment intents, invoice
payments and refunds."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from billing.api.views import customer_of, now_for
from core.api.base import StripeView, get_or_404
from core.api.fields import ApiParams
from payments import selectors
from payments.api import params as p
from payments.api import serializers as s
from payments.models import InvoicePayment, PaymentIntent, PaymentMethod, Refund
from payments.services import payment_methods as methods
from payments.services.refunds import payment_refund


def _method(payment_method_id: str) -> PaymentMethod:
    return get_or_404(PaymentMethod.objects.all(), payment_method_id, "payment_method")


class PaymentMethodListView(StripeView):
    @extend_schema(
        operation_id="ListPaymentMethods",
        parameters=[p.PaymentMethodListParams],
        responses=s.PaymentMethodSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.PaymentMethodListParams)
        if params.get("customer"):
            customer_of(params["customer"])
        rows = selectors.payment_method_list(
            customer_id=params.get("customer"), type=params.get("type")
        )
        return self.render_list(request, rows, params, object_name="payment_method")

    @extend_schema(
        operation_id="CreatePaymentMethod",
        request=p.PaymentMethodCreateParams,
        responses=s.PaymentMethodSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.PaymentMethodCreateParams)
        return self.render(methods.payment_method_create(params=params), params)


class PaymentMethodDetailView(StripeView):
    @extend_schema(
        operation_id="RetrievePaymentMethod",
        parameters=[ApiParams],
        responses=s.PaymentMethodSerializer,
    )
    def get(self, request, payment_method_id):
        params = self.parse(request, ApiParams)
        return self.render(_method(payment_method_id), params)

    @extend_schema(
        operation_id="UpdatePaymentMethod",
        request=p.PaymentMethodUpdateParams,
        responses=s.PaymentMethodSerializer,
    )
    def post(self, request, payment_method_id):
        params = self.parse(request, p.PaymentMethodUpdateParams)
        method = methods.payment_method_update(
            payment_method=_method(payment_method_id), params=params
        )
        return self.render(method, params)


class PaymentMethodAttachView(StripeView):
    @extend_schema(
        operation_id="AttachPaymentMethod",
        request=p.AttachParams,
        responses=s.PaymentMethodSerializer,
    )
    def post(self, request, payment_method_id):
        params = self.parse(request, p.AttachParams)
        customer = customer_of(params["customer"])
        method = methods.payment_method_attach(
            payment_method_id=payment_method_id, customer=customer
        )
        return self.render(method, params)


class PaymentMethodDetachView(StripeView):
    @extend_schema(
        operation_id="DetachPaymentMethod",
        request=ApiParams,
        responses=s.PaymentMethodSerializer,
    )
    def post(self, request, payment_method_id):
        params = self.parse(request, ApiParams)
        method = methods.payment_method_detach(
            payment_method=_method(payment_method_id)
        )
        return self.render(method, params)


class CustomerPaymentMethodListView(StripeView):
    @extend_schema(
        operation_id="ListCustomerPaymentMethods",
        parameters=[p.CustomerPaymentMethodListParams],
        responses=s.PaymentMethodSerializer(many=True),
    )
    def get(self, request, customer_id):
        params = self.parse(request, p.CustomerPaymentMethodListParams)
        customer = customer_of(customer_id, param="customer")
        rows = selectors.payment_method_list(
            customer_id=customer.pk,
            type=params.get("type"),
            allow_redisplay=params.get("allow_redisplay"),
        )
        return self.render_list(request, rows, params, object_name="payment_method")


class CustomerPaymentMethodDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveCustomerPaymentMethod",
        parameters=[ApiParams],
        responses=s.PaymentMethodSerializer,
    )
    def get(self, request, customer_id, payment_method_id):
        params = self.parse(request, ApiParams)
        customer = customer_of(customer_id, param="customer")
        method = get_or_404(
            PaymentMethod.objects.filter(customer=customer),
            payment_method_id,
            "payment_method",
        )
        return self.render(method, params)


class PaymentIntentListView(StripeView):
    @extend_schema(
        operation_id="ListPaymentIntents",
        parameters=[p.PaymentIntentListParams],
        responses=s.PaymentIntentSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.PaymentIntentListParams)
        rows = PaymentIntent.objects.all()
        if params.get("customer"):
            rows = rows.filter(customer_id=params["customer"])
        return self.render_list(request, rows, params, object_name="payment_intent")


class PaymentIntentDetailView(StripeView):
    @extend_schema(
        operation_id="RetrievePaymentIntent",
        parameters=[ApiParams],
        responses=s.PaymentIntentSerializer,
    )
    def get(self, request, payment_intent_id):
        params = self.parse(request, ApiParams)
        intent = get_or_404(
            PaymentIntent.objects.all(), payment_intent_id, "payment_intent"
        )
        return self.render(intent, params)


class InvoicePaymentListView(StripeView):
    @extend_schema(
        operation_id="ListInvoicePayments",
        parameters=[p.InvoicePaymentListParams],
        responses=s.InvoicePaymentSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.InvoicePaymentListParams)
        rows = selectors.invoice_payment_list(
            invoice_id=params.get("invoice"),
            status=params.get("status"),
            payment=params.get("payment"),
        )
        return self.render_list(request, rows, params, object_name="invoice_payment")


class InvoicePaymentDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveInvoicePayment",
        parameters=[ApiParams],
        responses=s.InvoicePaymentSerializer,
    )
    def get(self, request, invoice_payment_id):
        params = self.parse(request, ApiParams)
        payment = get_or_404(
            InvoicePayment.objects.all(), invoice_payment_id, "invoice_payment"
        )
        return self.render(payment, params)


class RefundListView(StripeView):
    @extend_schema(
        operation_id="ListRefunds",
        parameters=[p.RefundListParams],
        responses=s.RefundSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.RefundListParams)
        rows = Refund.objects.select_related("payment_intent")
        if params.get("payment_intent"):
            rows = rows.filter(payment_intent_id=params["payment_intent"])
        return self.render_list(request, rows, params, object_name="refund")

    @extend_schema(
        operation_id="CreateRefund",
        request=p.RefundCreateParams,
        responses=s.RefundSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.RefundCreateParams)
        intent = get_or_404(
            PaymentIntent.objects.select_related("customer__test_clock"),
            params["payment_intent"],
            "payment_intent",
            param="payment_intent",
        )
        refund = payment_refund(
            payment_intent=intent,
            amount=params.get("amount"),
            reason=params.get("reason"),
            now=now_for(intent.customer),
        )
        return self.render(refund, params)


class RefundDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveRefund",
        parameters=[ApiParams],
        responses=s.RefundSerializer,
    )
    def get(self, request, refund_id):
        params = self.parse(request, ApiParams)
        refund = get_or_404(
            Refund.objects.select_related("payment_intent"), refund_id, "refund"
        )
        return self.render(refund, params)

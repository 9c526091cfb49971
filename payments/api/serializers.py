"""Output serializers: each shows its object through ``payments.api.render``."""

from __future__ import annotations

from rest_framework import serializers

from payments.api import render


class _Rendered(serializers.Serializer):
    render_function = staticmethod(lambda instance: {})

    def to_representation(self, instance):
        return type(self).render_function(instance)


class PaymentMethodSerializer(_Rendered):
    """``payment_method`` (``pm_``)."""

    render_function = staticmethod(render.payment_method)


class PaymentIntentSerializer(_Rendered):
    """``payment_intent`` (``pi_``)."""

    render_function = staticmethod(render.payment_intent)


class InvoicePaymentSerializer(_Rendered):
    """``invoice_payment`` (``inpay_``)."""

    render_function = staticmethod(render.invoice_payment)


class RefundSerializer(_Rendered):
    """``refund`` (``re_``)."""

    render_function = staticmethod(render.refund)

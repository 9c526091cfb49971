from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from core.portal import register_sections
        from payments import (
            admin_statements,  # noqa: F401 - registers its admins
            tasks,  # noqa: F401 - registers the queued tasks
        )
        from payments.portal import SECTIONS

        register_sections(*SECTIONS)

        self._register_resources()
        self._connect()
        self._register_time_handler()
        from payments import dashboard

        dashboard.register()

    def _register_resources(self) -> None:
        from core import resources
        from payments.api import serializers
        from payments.api.render import invoice_payments_included
        from payments.models import InvoicePayment, PaymentIntent, PaymentMethod, Refund

        for object_name, model, serializer, expandable in (
            (
                "payment_method",
                PaymentMethod,
                serializers.PaymentMethodSerializer,
                {"customer": "customer"},
            ),
            (
                "payment_intent",
                PaymentIntent,
                serializers.PaymentIntentSerializer,
                {
                    "customer": "customer",
                    "payment_method": "payment_method",
                    "invoice": "invoice",
                },
            ),
            (
                "invoice_payment",
                InvoicePayment,
                serializers.InvoicePaymentSerializer,
                {"invoice": "invoice", "payment.payment_intent": "payment_intent"},
            ),
            (
                "refund",
                Refund,
                serializers.RefundSerializer,
                {
                    "customer": "customer",
                    "payment_intent": "payment_intent",
                    "payment_method": "payment_method",
                },
            ),
        ):
            resources.register(
                resources.Resource(
                    object_name=object_name,
                    model=model,
                    serializer=serializer,
                    expandable=expandable,
                )
            )
        # Billing's objects that point at ours (Stripe's includable and
        # expandable fields): invoice.payments, credit_note.refunds[].refund.
        resources.includable_register("invoice", "payments", invoice_payments_included)
        resources.expandable_register("credit_note", "refunds.refund", "refund")

    def _connect(self) -> None:
        from billing.collection import (
            collector_register,
            hosted_pay_panel_register,
            refunder_register,
        )
        from billing.signals import invoice_paid, invoices_finalized
        from core.services.customers import on_default_payment_method_check
        from payments import hosted, receivers
        from payments.services import paid_credits, refunds
        from payments.services.collection import invoice_pay
        from payments.services.payment_methods import default_payment_method_check

        invoices_finalized.connect(
            receivers.on_invoices_finalized, dispatch_uid="payments.collect"
        )
        invoice_paid.connect(
            paid_credits.on_invoice_paid, dispatch_uid="payments.paid_credits"
        )
        collector_register(invoice_pay)
        refunder_register(refunds.credit_note_refund)
        hosted_pay_panel_register(hosted.pay_panel)
        on_default_payment_method_check(default_payment_method_check)

    def _register_time_handler(self) -> None:
        from core import clock
        from payments.services import due

        # After billing's finalize (20) and settle (30): drafts finalized at this
        # moment are charged at it.
        clock.register_time_handler(
            clock.TimeHandler(
                name="payments.collect",
                next_due=lambda clock, until: due.next_collection(test_clock=clock),
                run=lambda clock, now: due.invoices_collect_due(
                    now=now, test_clock=clock
                ),
                order=40,
            )
        )

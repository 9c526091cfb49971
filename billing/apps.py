from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing.portal import SECTIONS
        from core.portal import register_sections

        register_sections(*SECTIONS)
        from django.db.models.signals import post_delete, post_save

        from billing import db  # noqa: F401 - registers SQLite's guard switch
        from billing.api.render.taxes import forget_tax_rates
        from billing.models import TaxRate

        for signal in (post_save, post_delete):
            signal.connect(forget_tax_rates, sender=TaxRate, dispatch_uid="tax_rates")

        self._register_resources()
        self._register_tax_resources()
        self._register_time_handlers()
        self._register_hooks()
        from billing import dashboard, usage_panel

        dashboard.register()
        usage_panel.register()

    def _register_resources(self) -> None:
        from billing.api import credit_notes, serializers
        from billing.api.commitment_serializers import CommitmentSerializer
        from billing.models import (
            Commitment,
            Coupon,
            CreditNote,
            CreditNoteLineItem,
            Discount,
            Invoice,
            InvoiceItem,
            InvoiceLineItem,
            PromotionCode,
            Subscription,
            SubscriptionItem,
        )
        from core import resources

        for object_name, model, serializer, expandable in (
            (
                "subscription",
                Subscription,
                serializers.SubscriptionSerializer,
                {
                    "customer": "customer",
                    "discounts": "discount",
                    "latest_invoice": "invoice",
                    "test_clock": "test_helpers.test_clock",
                },
            ),
            (
                "subscription_item",
                SubscriptionItem,
                serializers.SubscriptionItemSerializer,
                {},
            ),
            (
                "invoice",
                Invoice,
                serializers.InvoiceSerializer,
                {
                    "customer": "customer",
                    "discounts": "discount",
                    "test_clock": "test_helpers.test_clock",
                },
            ),
            ("line_item", InvoiceLineItem, serializers.LineItemSerializer, {}),
            (
                "credit_note",
                CreditNote,
                credit_notes.CreditNoteSerializer,
                {
                    "customer": "customer",
                    "invoice": "invoice",
                    "customer_balance_transaction": "customer_balance_transaction",
                },
            ),
            (
                "credit_note_line_item",
                CreditNoteLineItem,
                credit_notes.CreditNoteLineItemSerializer,
                {},
            ),
            (
                "invoiceitem",
                InvoiceItem,
                serializers.InvoiceItemSerializer,
                {
                    "customer": "customer",
                    "discounts": "discount",
                    "invoice": "invoice",
                    "test_clock": "test_helpers.test_clock",
                },
            ),
            ("coupon", Coupon, serializers.CouponSerializer, {}),
            (
                "billing.commitment",
                Commitment,
                CommitmentSerializer,
                {
                    "customer": "customer",
                    "subscription": "subscription",
                    "credit_grant": "billing.credit_grant",
                    "invoice_item": "invoiceitem",
                },
            ),
            (
                "promotion_code",
                PromotionCode,
                serializers.PromotionCodeSerializer,
                {"customer": "customer"},
            ),
            (
                "discount",
                Discount,
                serializers.DiscountSerializer,
                {
                    "customer": "customer",
                    "promotion_code": "promotion_code",
                    "subscription": "subscription",
                    "invoice": "invoice",
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

    def _register_tax_resources(self) -> None:
        from billing.api import tax_serializers
        from billing.models import TaxId, TaxRate
        from core import resources

        resources.register(
            resources.Resource(
                object_name="tax_rate",
                model=TaxRate,
                serializer=tax_serializers.TaxRateSerializer,
            )
        )
        resources.register(
            resources.Resource(
                object_name="tax_id",
                model=TaxId,
                serializer=tax_serializers.TaxIdSerializer,
                expandable={"customer": "customer"},
            )
        )

    def _register_time_handlers(self) -> None:
        """Test-clock advances close periods, finalize drafts, settle, in order."""
        from billing.services import finalize_due, period_close, statuses
        from core.clock import TimeHandler, register_time_handler

        register_time_handler(
            TimeHandler(
                name="billing.period_close",
                next_due=lambda clock, until: period_close.next_period_event(
                    test_clock=clock
                ),
                run=lambda clock, now: period_close.subscriptions_close_due(
                    now=now, test_clock=clock
                ),
                order=10,
            )
        )
        register_time_handler(
            TimeHandler(
                name="billing.finalize",
                next_due=lambda clock, until: finalize_due.next_finalization(
                    test_clock=clock
                ),
                run=lambda clock, now: finalize_due.invoices_finalize_due(
                    now=now, test_clock=clock
                ),
                order=20,
            )
        )
        register_time_handler(
            TimeHandler(
                name="billing.settle",
                next_due=lambda clock, until: statuses.next_settle_event(
                    test_clock=clock
                ),
                run=lambda clock, now: statuses.subscriptions_settle_due(
                    now=now, test_clock=clock
                ),
                order=30,
            )
        )

    def _register_hooks(self) -> None:
        from billing.burndown import unbilled_credit_use
        from billing.services.discounts import (
            customer_discount,
            customer_discount_params,
        )
        from billing.services.numbering import next_number_check
        from billing.services.subscriptions import customer_subscriptions_cancel
        from core.api.serializers import customer_discount_provider_register
        from core.services.customers import (
            on_customer_deleted,
            on_customer_saved,
            on_invoice_numbering_change,
        )
        from credits.selectors import unbilled_usage_provider_register

        on_customer_deleted(customer_subscriptions_cancel)
        on_invoice_numbering_change(next_number_check)
        on_customer_saved(customer_discount_params)
        customer_discount_provider_register(customer_discount)
        unbilled_usage_provider_register(unbilled_credit_use)

"""Output serializers: the shapes of subscriptions, invoices, lines, invoice items.

Fields are declared so ``/api/schema/`` describes the objects; rendering itself is
done by the plain functions in ``billing.api.render`` (fast enough for jobs that
emit thousands of events).
"""

from __future__ import annotations

from rest_framework import serializers

from billing.api import render

_ro = {"read_only": True}


def _nullable(field_class, **kwargs):
    return field_class(read_only=True, allow_null=True, **kwargs)


class PeriodSerializer(serializers.Serializer):
    start = serializers.IntegerField(**_ro)
    end = serializers.IntegerField(**_ro)


class PriceDetailsSerializer(serializers.Serializer):
    price = serializers.CharField(**_ro)
    product = serializers.CharField(**_ro)


class PricingSerializer(serializers.Serializer):
    type = serializers.CharField(**_ro)
    price_details = PriceDetailsSerializer(read_only=True, allow_null=True)
    unit_amount_decimal = _nullable(serializers.CharField)


class PretaxCreditAmountSerializer(serializers.Serializer):
    amount = serializers.IntegerField(**_ro)
    type = serializers.CharField(**_ro)
    credit_balance_transaction = _nullable(serializers.CharField)
    discount = _nullable(serializers.CharField)


class LineParentSerializer(serializers.Serializer):
    type = serializers.CharField(**_ro)
    invoice_item_details = _nullable(serializers.DictField)
    subscription_item_details = _nullable(serializers.DictField)


class LineItemSerializer(serializers.Serializer):
    """``line_item`` (``il_``)."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    amount = serializers.IntegerField(**_ro)
    currency = serializers.CharField(**_ro)
    description = _nullable(serializers.CharField)
    discount_amounts = serializers.ListField(**_ro)
    discountable = serializers.BooleanField(**_ro)
    discounts = serializers.ListField(**_ro)
    invoice = _nullable(serializers.CharField)
    livemode = serializers.BooleanField(**_ro)
    metadata = serializers.DictField(**_ro)
    parent = LineParentSerializer(read_only=True, allow_null=True)
    period = PeriodSerializer(read_only=True)
    pretax_credit_amounts = PretaxCreditAmountSerializer(many=True, read_only=True)
    pricing = PricingSerializer(read_only=True, allow_null=True)
    quantity = _nullable(serializers.IntegerField)
    quantity_decimal = _nullable(serializers.CharField)
    subscription = _nullable(serializers.CharField)
    subtotal = serializers.IntegerField(**_ro)
    taxes = serializers.ListField(**_ro)

    def to_representation(self, instance):
        return render.line_item(instance)


class LineListSerializer(serializers.Serializer):
    object = serializers.CharField(**_ro)
    data = LineItemSerializer(many=True, read_only=True)
    has_more = serializers.BooleanField(**_ro)
    total_count = serializers.IntegerField(**_ro)
    url = serializers.CharField(**_ro)


class StatusTransitionsSerializer(serializers.Serializer):
    finalized_at = _nullable(serializers.IntegerField)
    marked_uncollectible_at = _nullable(serializers.IntegerField)
    paid_at = _nullable(serializers.IntegerField)
    voided_at = _nullable(serializers.IntegerField)


class SubscriptionDetailsSerializer(serializers.Serializer):
    metadata = serializers.DictField(**_ro)
    subscription = serializers.CharField(**_ro)


class InvoiceParentSerializer(serializers.Serializer):
    type = serializers.CharField(**_ro)
    quote_details = _nullable(serializers.DictField)
    subscription_details = SubscriptionDetailsSerializer(
        read_only=True, allow_null=True
    )


class InvoiceSerializer(serializers.Serializer):
    """``invoice`` (``in_``), basil shape."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    amount_due = serializers.IntegerField(**_ro)
    amount_overpaid = serializers.IntegerField(**_ro)
    amount_paid = serializers.IntegerField(**_ro)
    amount_remaining = serializers.IntegerField(**_ro)
    attempted = serializers.BooleanField(**_ro)
    auto_advance = serializers.BooleanField(**_ro)
    automatically_finalizes_at = _nullable(serializers.IntegerField)
    billing_reason = serializers.CharField(**_ro)
    collection_method = serializers.CharField(**_ro)
    created = serializers.IntegerField(**_ro)
    currency = serializers.CharField(**_ro)
    customer = serializers.CharField(**_ro)
    customer_address = _nullable(serializers.DictField)
    customer_email = _nullable(serializers.CharField)
    customer_name = _nullable(serializers.CharField)
    description = _nullable(serializers.CharField)
    due_date = _nullable(serializers.IntegerField)
    effective_at = _nullable(serializers.IntegerField)
    ending_balance = _nullable(serializers.IntegerField)
    footer = _nullable(serializers.CharField)
    hosted_invoice_url = _nullable(serializers.CharField)
    invoice_pdf = _nullable(serializers.CharField)
    lines = LineListSerializer(read_only=True)
    livemode = serializers.BooleanField(**_ro)
    metadata = serializers.DictField(**_ro)
    number = _nullable(serializers.CharField)
    parent = InvoiceParentSerializer(read_only=True, allow_null=True)
    period_end = serializers.IntegerField(**_ro)
    period_start = serializers.IntegerField(**_ro)
    starting_balance = serializers.IntegerField(**_ro)
    status = serializers.CharField(**_ro)
    status_transitions = StatusTransitionsSerializer(read_only=True)
    subtotal = serializers.IntegerField(**_ro)
    subtotal_excluding_tax = serializers.IntegerField(**_ro)
    test_clock = _nullable(serializers.CharField)
    threshold_reason = _nullable(serializers.DictField)
    total = serializers.IntegerField(**_ro)
    total_excluding_tax = serializers.IntegerField(**_ro)
    total_pretax_credit_amounts = PretaxCreditAmountSerializer(
        many=True, read_only=True
    )
    webhooks_delivered_at = _nullable(serializers.IntegerField)

    def to_representation(self, instance):
        return render.invoice(instance)


class InvoiceItemParentSerializer(serializers.Serializer):
    type = serializers.CharField(**_ro)
    subscription_details = _nullable(serializers.DictField)


class InvoiceItemSerializer(serializers.Serializer):
    """``invoiceitem`` (``ii_``)."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    amount = serializers.IntegerField(**_ro)
    currency = serializers.CharField(**_ro)
    customer = serializers.CharField(**_ro)
    date = serializers.IntegerField(**_ro)
    description = _nullable(serializers.CharField)
    discountable = serializers.BooleanField(**_ro)
    invoice = _nullable(serializers.CharField)
    livemode = serializers.BooleanField(**_ro)
    metadata = serializers.DictField(**_ro)
    net_amount = serializers.IntegerField(**_ro)
    parent = InvoiceItemParentSerializer(read_only=True, allow_null=True)
    period = PeriodSerializer(read_only=True)
    pricing = PricingSerializer(read_only=True, allow_null=True)
    proration = serializers.BooleanField(**_ro)
    quantity = serializers.IntegerField(**_ro)
    quantity_decimal = serializers.CharField(**_ro)
    test_clock = _nullable(serializers.CharField)

    def to_representation(self, instance):
        return render.invoice_item(instance)


class ItemThresholdsSerializer(serializers.Serializer):
    usage_gte = serializers.IntegerField(**_ro)


class SubscriptionItemSerializer(serializers.Serializer):
    """``subscription_item`` (``si_``); ``quantity`` is absent for metered prices."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    billing_thresholds = ItemThresholdsSerializer(read_only=True, allow_null=True)
    created = serializers.IntegerField(**_ro)
    current_period_end = serializers.IntegerField(**_ro)
    current_period_start = serializers.IntegerField(**_ro)
    metadata = serializers.DictField(**_ro)
    plan = serializers.DictField(**_ro)
    price = serializers.DictField(**_ro)
    quantity = serializers.IntegerField(read_only=True, required=False)
    subscription = serializers.CharField(**_ro)
    tax_rates = serializers.ListField(**_ro)

    def to_representation(self, instance):
        return render.subscription_item(instance)


class ItemListSerializer(serializers.Serializer):
    object = serializers.CharField(**_ro)
    data = SubscriptionItemSerializer(many=True, read_only=True)
    has_more = serializers.BooleanField(**_ro)
    total_count = serializers.IntegerField(**_ro)
    url = serializers.CharField(**_ro)


class ThresholdsSerializer(serializers.Serializer):
    amount_gte = _nullable(serializers.IntegerField)
    reset_billing_cycle_anchor = serializers.BooleanField(**_ro)


class SubscriptionSerializer(serializers.Serializer):
    """``subscription`` (``sub_``), basil shape: periods live on the items."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    billing_cycle_anchor = serializers.IntegerField(**_ro)
    billing_cycle_anchor_config = _nullable(serializers.DictField)
    billing_thresholds = ThresholdsSerializer(read_only=True, allow_null=True)
    cancel_at = _nullable(serializers.IntegerField)
    cancel_at_period_end = serializers.BooleanField(**_ro)
    canceled_at = _nullable(serializers.IntegerField)
    cancellation_details = serializers.DictField(**_ro)
    collection_method = serializers.CharField(**_ro)
    created = serializers.IntegerField(**_ro)
    currency = serializers.CharField(**_ro)
    customer = serializers.CharField(**_ro)
    days_until_due = _nullable(serializers.IntegerField)
    description = _nullable(serializers.CharField)
    ended_at = _nullable(serializers.IntegerField)
    items = ItemListSerializer(read_only=True)
    latest_invoice = _nullable(serializers.CharField)
    livemode = serializers.BooleanField(**_ro)
    metadata = serializers.DictField(**_ro)
    start_date = serializers.IntegerField(**_ro)
    status = serializers.CharField(**_ro)
    test_clock = _nullable(serializers.CharField)
    trial_end = _nullable(serializers.IntegerField)
    trial_start = _nullable(serializers.IntegerField)

    def to_representation(self, instance):
        return render.subscription(instance)


class CouponSerializer(serializers.Serializer):
    """``coupon``: percent or amount off, for how long."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    amount_off = _nullable(serializers.IntegerField)
    applies_to = _nullable(serializers.DictField)
    created = serializers.IntegerField(**_ro)
    currency = _nullable(serializers.CharField)
    duration = serializers.CharField(**_ro)
    duration_in_months = _nullable(serializers.IntegerField)
    livemode = serializers.BooleanField(**_ro)
    max_redemptions = _nullable(serializers.IntegerField)
    metadata = serializers.DictField(**_ro)
    name = _nullable(serializers.CharField)
    percent_off = _nullable(serializers.FloatField)
    redeem_by = _nullable(serializers.IntegerField)
    times_redeemed = serializers.IntegerField(**_ro)
    valid = serializers.BooleanField(**_ro)

    def to_representation(self, instance):
        return render.coupon(instance)


class PromotionCodeSerializer(serializers.Serializer):
    """``promotion_code`` (``promo_``): a customer-facing code for a coupon."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    active = serializers.BooleanField(**_ro)
    code = serializers.CharField(**_ro)
    coupon = CouponSerializer(read_only=True)
    created = serializers.IntegerField(**_ro)
    customer = _nullable(serializers.CharField)
    expires_at = _nullable(serializers.IntegerField)
    livemode = serializers.BooleanField(**_ro)
    max_redemptions = _nullable(serializers.IntegerField)
    metadata = serializers.DictField(**_ro)
    promotion = serializers.DictField(**_ro)
    restrictions = serializers.DictField(**_ro)
    times_redeemed = serializers.IntegerField(**_ro)

    def to_representation(self, instance):
        return render.promotion_code(instance)


class DiscountSerializer(serializers.Serializer):
    """``discount`` (``di_``): a coupon applied to a customer, subscription,
    invoice or invoice item."""

    id = serializers.CharField(**_ro)
    object = serializers.CharField(**_ro)
    coupon = CouponSerializer(read_only=True)
    customer = serializers.CharField(**_ro)
    end = _nullable(serializers.IntegerField)
    invoice = _nullable(serializers.CharField)
    invoice_item = _nullable(serializers.CharField)
    promotion_code = _nullable(serializers.CharField)
    source = serializers.DictField(**_ro)
    start = serializers.IntegerField(**_ro)
    subscription = _nullable(serializers.CharField)

    def to_representation(self, instance):
        return render.discount(instance)

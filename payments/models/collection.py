"""Collecting invoices: payment intents, their attempts, invoice payments, refunds;
the simulator's books and processors' webhook events.

Amounts are integers of the currency's minor unit.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.ids import id_default
from core.models import Customer, StripeObject
from core.modes import LivemodeField, ModeManager
from payments.models.methods import PaymentMethod


class PaymentIntent(StripeObject):
    """The collection of one invoice's amount (``pi_``), over one or more attempts."""

    class Status(models.TextChoices):
        REQUIRES_PAYMENT_METHOD = "requires_payment_method"
        REQUIRES_CONFIRMATION = "requires_confirmation"
        REQUIRES_ACTION = "requires_action"
        PROCESSING = "processing"
        SUCCEEDED = "succeeded"
        CANCELED = "canceled"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("pi"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="payment_intents"
    )
    invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="payment_intents",
    )
    amount = models.BigIntegerField()
    amount_received = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=30,
        choices=Status.choices,
        default=Status.REQUIRES_PAYMENT_METHOD,
    )
    payment_method = models.ForeignKey(
        PaymentMethod,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    description = models.TextField(null=True, blank=True)
    last_payment_error = models.JSONField(null=True, blank=True)
    # The processor's charge that succeeded (``ch_``), for refunds.
    latest_charge = models.CharField(max_length=255, null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(invoice__isnull=False),
                name="payment_intent_one_per_invoice",
            ),
            models.CheckConstraint(
                condition=Q(amount_received__gte=0)
                & Q(amount_refunded__gte=0)
                & Q(amount_refunded__lte=models.F("amount_received")),
                name="payment_intent_amounts_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.id


class PaymentAttempt(models.Model):
    """One charge of an invoice: the processor's call and its outcome.

    Unique per (invoice, number) and per idempotency key: a rerun, a second worker
    or a restart after a crash finds the attempt and reconciles it with the
    processor by its key instead of charging again.
    """

    class Status(models.TextChoices):
        # Recorded, the processor not yet answered (or the worker died).
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REQUIRES_ACTION = "requires_action"

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.CASCADE, related_name="payment_attempts"
    )
    number = models.PositiveIntegerField()
    payment_intent = models.ForeignKey(
        PaymentIntent, on_delete=models.CASCADE, related_name="attempts"
    )
    payment_method = models.ForeignKey(
        PaymentMethod,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    off_session = models.BooleanField(default=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    processor = models.CharField(max_length=30)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    charge_reference = models.CharField(max_length=255, null=True, blank=True)
    failure_code = models.CharField(max_length=60, null=True, blank=True)
    decline_code = models.CharField(max_length=60, null=True, blank=True)
    failure_message = models.TextField(null=True, blank=True)
    created = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        ordering = ["invoice", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "number"], name="payment_attempt_once_per_number"
            ),
            # At most one charge of an invoice ever succeeds.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status="succeeded"),
                name="payment_attempt_one_success_per_invoice",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payment_attempt_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["status", "created"], name="payments_pa_due")]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.number}"


class InvoicePayment(StripeObject):
    """A payment toward an invoice (``inpay_``): its PaymentIntent or a record."""

    class Status(models.TextChoices):
        OPEN = "open"
        PAID = "paid"
        CANCELED = "canceled"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("inpay"))
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.CASCADE, related_name="payments"
    )
    payment_intent = models.ForeignKey(
        PaymentIntent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # A payment recorded by staff or a bank statement (Stripe's payment_record).
    payment_record = models.CharField(max_length=64, null=True, blank=True)
    amount_requested = models.BigIntegerField()
    amount_paid = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    is_default = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(is_default=True),
                name="invoice_payment_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.id or "invoice payment"


class Refund(StripeObject):
    """Money given back on a payment (``re_``), through its processor.

    ``pending`` until the processor answers (``processor_reference`` still empty:
    never answered, asked again by the Beat job with the same key).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("re"))
    payment_intent = models.ForeignKey(
        PaymentIntent, on_delete=models.CASCADE, related_name="refunds"
    )
    # The credit note whose refund_amount this gives back (one refund per note).
    credit_note = models.ForeignKey(
        "billing.CreditNote",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=40, null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    processor_reference = models.CharField(max_length=255, null=True, blank=True)

    class Meta(StripeObject.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="refund_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["credit_note"],
                condition=Q(credit_note__isnull=False),
                name="refund_one_per_credit_note",
            ),
        ]
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(fields=["status", "created"], name="payments_refund_due"),
        ]

    def __str__(self) -> str:
        return self.id


class SimulatedCharge(models.Model):
    """The test-mode simulator's own books: what "the processor" charged.

    Written in its own transaction, as an outside processor would, so a crash of
    the caller after the charge leaves it here to be found by idempotency key.
    """

    id = models.CharField(primary_key=True, max_length=64, default=id_default("ch"))
    idempotency_key = models.CharField(max_length=200, unique=True)
    token = models.CharField(max_length=100)
    amount = models.BigIntegerField()
    amount_refunded = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20)
    failure_code = models.CharField(max_length=60, null=True, blank=True)
    decline_code = models.CharField(max_length=60, null=True, blank=True)
    created = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    def __str__(self) -> str:
        return self.id


class SimulatedRefund(models.Model):
    """The simulator's refunds, unique per idempotency key: asked twice, once."""

    id = models.CharField(primary_key=True, max_length=64, default=id_default("re"))
    idempotency_key = models.CharField(max_length=200, unique=True)
    charge = models.ForeignKey(
        SimulatedCharge, on_delete=models.CASCADE, related_name="refunds"
    )
    amount = models.BigIntegerField()
    created = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    def __str__(self) -> str:
        return self.id


class ProcessorEvent(models.Model):
    """A processor's webhook event, kept once: a replay of its id is refused."""

    processor = models.CharField(max_length=30)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    created = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["processor", "event_id"], name="processor_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.processor} {self.event_id}"

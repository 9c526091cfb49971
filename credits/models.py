"""Credit grants and their ledger of credit balance transactions.

Amounts are integers in the grant currency's minor unit (cents for USD).

- ``CreditGrant`` (``credgr_``) records what was granted and caches what is left in
  ``balance``. The balance changes only under the grant's row lock, in the same
  transaction as the ledger row that explains the change, and the database refuses a
  balance below zero or above the granted amount.
- ``CreditBalanceTransaction`` (``cbtxn_``) is append-only: a credit (granted,
  reinstated after an invoice void) or a debit (applied to an invoice line, expired,
  voided). ``(credit_grant, kind, invoice_line_item)`` is unique, so each grant is
  granted, expired and voided at most once and each invoice line is debited and
  reinstated at most once per grant, whatever retries or parallel workers do.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from core import clock
from core.ids import id_default
from core.models import Customer, StripeObject, TestClock
from core.modes import LivemodeField, ModeManager


class CreditGrant(StripeObject):
    """Billing credits granted to a customer (``billing.credit_grant``).

    ``status`` is where the grant is in its life: ``pending`` until ``effective_at``
    has been posted to the ledger as ``credits_granted``; ``active`` while it can be
    applied; ``expired`` once the remainder at ``expires_at`` was debited; ``voided``
    once the remainder was debited by a void.
    """

    class Category(models.TextChoices):
        PAID = "paid"
        PROMOTIONAL = "promotional"

    class Status(models.TextChoices):
        PENDING = "pending"
        ACTIVE = "active"
        EXPIRED = "expired"
        VOIDED = "voided"

    class PriceType(models.TextChoices):
        METERED = "metered"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("credgr"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="credit_grants"
    )
    # The customer's clock, copied at creation (a customer never changes clocks).
    test_clock = models.ForeignKey(
        TestClock,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    name = models.CharField(max_length=100, null=True, blank=True)
    currency = models.CharField(max_length=3)
    # Granted amount, minor units.
    amount = models.BigIntegerField()
    # What is left, minor units: the sum of this grant's ledger rows.
    balance = models.BigIntegerField(default=0)
    category = models.CharField(
        max_length=11, choices=Category.choices, default=Category.PAID
    )
    # Scope: every metered price (price_type) or the metered prices listed here.
    scope_price_type = models.CharField(
        max_length=10, choices=PriceType.choices, null=True, blank=True
    )
    scope_prices = models.JSONField(default=list, blank=True)
    # 0 is applied first, 100 last.
    priority = models.PositiveSmallIntegerField(default=50)
    effective_at = models.DateTimeField()
    # Null: never expires. Expired from this moment on (``expires_at <= now``).
    expires_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    updated = models.DateTimeField(default=clock.now)
    # When the last ledger row of this grant was created: rows of one grant get
    # strictly increasing ``created`` so the ledger lists in the order it happened.
    ledger_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the "expiring soon" email was queued (customer time); set once, by a
    # conditional update, so one grant gets one notice whoever runs the job.
    expiry_notice_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(StripeObject.Meta):
        indexes = [
            *StripeObject.Meta.indexes,
            models.Index(fields=["customer", "status"], name="credit_grant_customer"),
            models.Index(
                fields=["status", "effective_at"], name="credit_grant_due_start"
            ),
            models.Index(fields=["status", "expires_at"], name="credit_grant_due_end"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="credit_grant_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="credit_grant_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(balance__lte=F("amount")),
                name="credit_grant_balance_at_most_amount",
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=0, priority__lte=100),
                name="credit_grant_priority_range",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True)
                | Q(expires_at__gte=F("effective_at")),
                name="credit_grant_expires_after_effective",
            ),
            models.CheckConstraint(
                condition=Q(status="voided", voided_at__isnull=False)
                | (~Q(status="voided") & Q(voided_at__isnull=True)),
                name="credit_grant_voided_at_with_status",
            ),
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(balance=0),
                name="credit_grant_pending_has_no_balance",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.id

    @property
    def applies_to_prices(self) -> frozenset[str] | None:
        """The listed prices, or None when the grant covers every metered price."""
        if self.scope_price_type:
            return None
        return frozenset(self.scope_prices)


class CreditBalanceTransaction(models.Model):
    """One movement of a grant's balance (``billing.credit_balance_transaction``).

    Never updated or deleted. ``amount`` is positive; ``type`` says its sign.
    ``invoice_line_item`` is the line a debit paid or a reinstatement returned, and
    ``""`` for movements that concern no invoice line (granted, expired, voided).
    """

    class Type(models.TextChoices):
        CREDIT = "credit"
        DEBIT = "debit"

    class Kind(models.TextChoices):
        CREDITS_GRANTED = "credits_granted"
        CREDITS_APPLICATION_INVOICE_VOIDED = "credits_application_invoice_voided"
        CREDITS_APPLIED = "credits_applied"
        CREDITS_EXPIRED = "credits_expired"
        CREDITS_VOIDED = "credits_voided"

    CREDIT_KINDS = (Kind.CREDITS_GRANTED, Kind.CREDITS_APPLICATION_INVOICE_VOIDED)

    id = models.CharField(primary_key=True, max_length=64, default=id_default("cbtxn"))
    credit_grant = models.ForeignKey(
        CreditGrant, on_delete=models.CASCADE, related_name="transactions"
    )
    # The grant's customer, copied so a customer's ledger lists from one index.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    type = models.CharField(max_length=6, choices=Type.choices)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    # Minor units, always positive.
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    invoice = models.CharField(max_length=64, blank=True, default="")
    invoice_line_item = models.CharField(max_length=64, blank=True, default="")
    effective_at = models.DateTimeField()
    created = models.DateTimeField(default=clock.now, editable=False)
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        indexes = [
            models.Index(
                fields=["customer", "-created", "-id"], name="credit_txn_page"
            ),
            models.Index(
                fields=["credit_grant", "-created", "-id"], name="credit_txn_grant"
            ),
            models.Index(fields=["invoice", "kind"], name="credit_txn_invoice"),
            # The dashboard's ledger list, newest first, every customer.
            models.Index(fields=["-created", "-id"], name="credit_txn_recent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_grant", "kind", "invoice_line_item"],
                name="credit_txn_once_per_grant_kind_line",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="credit_txn_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    type="credit",
                    kind__in=["credits_granted", "credits_application_invoice_voided"],
                )
                | Q(
                    type="debit",
                    kind__in=["credits_applied", "credits_expired", "credits_voided"],
                ),
                name="credit_txn_type_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(
                    kind__in=["credits_applied", "credits_application_invoice_voided"]
                )
                | (~Q(invoice="") & ~Q(invoice_line_item="")),
                name="credit_txn_invoice_kinds_name_the_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"

    def save(self, *args, **kwargs):
        """Insert only: a ledger row is never rewritten."""
        if not self._state.adding:
            raise ValueError("credit balance transactions are append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("credit balance transactions are append-only")

    @property
    def signed_amount(self) -> int:
        """The amount as it moves the balance: positive credits, negative debits."""
        return self.amount if self.type == self.Type.CREDIT else -self.amount

"""The customer balance ledger (``customer_balance_transaction``, ``cbtxn_``).

``Customer.balance`` caches the sum of the customer's ledger rows: it changes only
in ``core.services.balance``, under the customer's row lock, in the transaction
that appends the row explaining the change. Rows are append-only (only
``description`` and ``metadata`` stay editable) and numbered per customer:
``(customer, sequence)`` is unique, so two writers that skipped the lock collide
instead of forking the running balance. Negative amounts are credit the customer
has; positive ones are owed. Invoices and credit notes live in a higher app
(billing): their ids are kept as plain strings, like the credits ledger does.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.ids import id_default
from core.models.base import StripeObject
from core.models.customers import Customer


class CustomerBalanceTransaction(StripeObject):
    """One movement of a customer's balance, in the customer's currency."""

    class Type(models.TextChoices):
        ADJUSTMENT = "adjustment"
        APPLIED_TO_INVOICE = "applied_to_invoice"
        CREDIT_NOTE = "credit_note"
        INITIAL = "initial"
        INVOICE_OVERPAID = "invoice_overpaid"
        INVOICE_TOO_LARGE = "invoice_too_large"
        INVOICE_TOO_SMALL = "invoice_too_small"
        MIGRATION = "migration"
        UNAPPLIED_FROM_INVOICE = "unapplied_from_invoice"
        UNSPENT_RECEIVER_CREDIT = "unspent_receiver_credit"

    id = models.CharField(primary_key=True, max_length=64, default=id_default("cbtxn"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="balance_transactions"
    )
    # 1, 2, 3, ... per customer: the order the balance moved in.
    sequence = models.PositiveBigIntegerField()
    type = models.CharField(max_length=50, choices=Type.choices)
    # Minor units; negative is a credit to the customer, positive a debit.
    amount = models.BigIntegerField()
    # The customer's balance after this row (minor units).
    ending_balance = models.BigIntegerField()
    # Null only while the customer has no currency (a balance set before any).
    currency = models.CharField(max_length=3, null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    invoice = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    credit_note = models.CharField(max_length=64, null=True, blank=True)

    class Meta(StripeObject.Meta):
        indexes = [
            models.Index(fields=["-created", "-id"], name="core_cbtxn_page"),
            models.Index(fields=["customer", "-sequence"], name="core_cbtxn_ledger"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "sequence"], name="customer_balance_txn_sequence"
            ),
            models.CheckConstraint(
                condition=~Q(amount=0), name="customer_balance_txn_amount_nonzero"
            ),
        ]

    def __str__(self) -> str:
        return self.id

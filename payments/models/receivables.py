"""``send_invoice`` invoices: due-date reminders, bank statements reconciled."""

from __future__ import annotations

from django.db import models

from core.modes import LivemodeField, ModeManager
from payments.models.collection import InvoicePayment


class InvoiceReminder(models.Model):
    """A reminder of a ``send_invoice`` invoice's due date: one per (invoice, offset).

    ``offset_days`` is relative to the due date (−3: three days before).
    """

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.CASCADE, related_name="reminders"
    )
    offset_days = models.IntegerField()
    sent_at = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "offset_days"], name="invoice_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.offset_days:+d}d"


class BankStatement(models.Model):
    """A bank statement CSV staff uploaded to reconcile payments received."""

    name = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField()
    livemode = LivemodeField()
    objects = ModeManager()

    def __str__(self) -> str:
        return self.name


class StatementLine(models.Model):
    """One credit on a statement: matched to an invoice by its reference (the
    invoice number), assigned by staff, or left unmatched for them to see."""

    class Status(models.TextChoices):
        MATCHED = "matched"
        UNMATCHED = "unmatched"
        ASSIGNED = "assigned"
        IGNORED = "ignored"

    statement = models.ForeignKey(
        BankStatement, on_delete=models.CASCADE, related_name="lines"
    )
    row = models.PositiveIntegerField()
    booked_on = models.DateField()
    amount = models.BigIntegerField()  # minor units
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    # Why a line is unmatched (no invoice, above what is due, not open).
    note = models.CharField(max_length=300, blank=True)
    invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payment = models.OneToOneField(
        InvoicePayment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="statement_line",
    )
    livemode = LivemodeField()
    objects = ModeManager()

    class Meta:
        ordering = ["statement", "row"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "row"], name="statement_line_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}:{self.row} {self.reference}"

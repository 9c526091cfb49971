"""Invoice numbers: sequential with no gaps, per customer prefix or per account.

``TALLY_INVOICE_NUMBERING`` chooses, as Stripe's invoice numbering settings do:

- ``customer`` (default): ``<customer.invoice_prefix>-<sequence>``, the sequence
  in the customer's row (``next_invoice_sequence``), which finalization locks;
- ``account``: ``<TALLY_INVOICE_PREFIX>-<sequence>``, one sequence for every
  customer of a mode, kept in a locked ``InvoiceNumberSequence`` row.

Either counter moves in the finalizing transaction: a rollback gives its numbers
back, so there is never a gap, and the row lock means never a repeat. Locking
order (``billing.services.finalize``): invoice → customer → number sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from billing.models import Invoice, InvoiceNumberSequence
from core.errors import InvalidRequest
from core.models import Customer
from core.numbers import plain_digits


def next_number_check(customer: Customer) -> None:
    """Refuse a prefix and next sequence that would repeat a number one of the
    customer's invoices has (a prefix used before, a sequence set back)."""
    prefix = f"{customer.invoice_prefix}-"
    numbers = Invoice.objects.filter(
        customer=customer, number__startswith=prefix
    ).values_list("number", flat=True)
    sequences = [number[len(prefix) :] for number in numbers]
    used = max((int(digits) for digits in sequences if plain_digits(digits)), default=0)
    if customer.next_invoice_sequence <= used:
        raise InvalidRequest(
            f"Invoice number {prefix}{used:04d} is taken: with the prefix "
            f"{customer.invoice_prefix}, next_invoice_sequence must be at least "
            f"{used + 1}.",
            param="next_invoice_sequence",
        )


def _number(prefix: str, sequence: int) -> str:
    return f"{prefix}-{sequence:04d}"


class InvoiceNumbering:
    """Numbers a batch of invoices whose rows and customers' rows are locked.

    ``lock`` takes the account sequences the batch needs (none in customer
    mode); ``assign`` gives an invoice its number; ``changed`` lists the rows to
    save with the invoices.
    """

    def __init__(self, sequences: dict[bool, InvoiceNumberSequence]) -> None:
        self._sequences = sequences

    @classmethod
    def lock(cls, invoices: Sequence[Invoice]) -> InvoiceNumbering:
        if settings.TALLY_INVOICE_NUMBERING != "account":
            return cls({})
        modes = sorted({invoice.livemode for invoice in invoices})
        return cls(
            {
                livemode: account_sequence_locked(
                    livemode=livemode, prefix=settings.TALLY_INVOICE_PREFIX
                )
                for livemode in modes
            }
        )

    def assign(self, invoice: Invoice) -> None:
        sequence = self._sequences.get(invoice.livemode)
        if sequence is None:
            customer = invoice.customer
            invoice.number = _number(
                customer.invoice_prefix, customer.next_invoice_sequence
            )
            customer.next_invoice_sequence += 1
            return
        invoice.number = _number(sequence.prefix, sequence.next_value)
        sequence.next_value += 1

    def save(self) -> None:
        for sequence in self._sequences.values():
            sequence.save(update_fields=["next_value"])


def account_sequence_locked(*, livemode: bool, prefix: str) -> InvoiceNumberSequence:
    """The account sequence of ``livemode`` and ``prefix``, created if new, locked.

    The insert ignores a conflict, so two first finalizations create one row and
    the second waits on the first's lock.
    """
    InvoiceNumberSequence.objects.bulk_create(
        [InvoiceNumberSequence(livemode=livemode, prefix=prefix)],
        ignore_conflicts=True,
    )
    return InvoiceNumberSequence.objects.select_for_update().get(
        livemode=livemode, prefix=prefix
    )

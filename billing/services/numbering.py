"""Invoice numbers: sequential per customer prefix, with no gaps.

The customer row, locked by finalization, serialises them
(``next_invoice_sequence``).
"""

from __future__ import annotations

from billing.models import Invoice
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


def number_assign(invoice: Invoice, customer: Customer) -> None:
    invoice.number = f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"
    customer.next_invoice_sequence += 1

"""The processor interface: everything payments asks of a card processor.

A processor charges with an idempotency key (the same key never charges twice),
answers what it did under a key (reconciliation after a crash), refunds, and turns
what a customer gave (a token, a processor's payment method id) into a stored
reference. Adding one (Adyen, GoCardless) is a class with these methods and a line
in ``TALLY_PAYMENT_PROCESSORS``; nothing else changes (``docs/payments.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ProcessorError(Exception):
    """The processor could not be reached or refused the request itself."""


@dataclass(frozen=True)
class MethodDetails:
    """A payment method as the processor describes it (no card numbers)."""

    reference: str
    type: str
    card: dict
    # The processor's own customer the method belongs to (Stripe's cus_), if any.
    processor_customer: str | None = None


@dataclass(frozen=True)
class ChargeRequest:
    amount: int  # minor units
    currency: str
    payment_method: str  # the processor's reference
    customer: str  # Tally's cus_ id (the processor may keep its own)
    idempotency_key: str
    off_session: bool = True
    description: str = ""
    processor_customer: str | None = None


@dataclass(frozen=True)
class ChargeResult:
    # succeeded | failed | requires_action | processing
    status: str
    reference: str | None = None
    amount_received: int = 0
    failure_code: str | None = None
    decline_code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class RefundResult:
    status: str  # succeeded | pending | failed
    reference: str | None = None


class Processor(Protocol):
    name: str

    def payment_method_resolve(self, token: str) -> MethodDetails:
        """Turn a token (or the processor's method id) into a stored reference;
        raises ``LookupError`` if the processor does not know it."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a charge; the same key answers the first result.

        Raises ``ProcessorError`` only when there is no usable answer (the
        attempt stays pending and is asked again with the same key)."""

    def charge_lookup(self, idempotency_key: str) -> ChargeResult | None:
        """What a charge under this key did, or None if none was made."""

    def refund(self, *, charge: str, amount: int, idempotency_key: str) -> RefundResult:
        """Give back ``amount`` (minor units) of a succeeded charge, once per key.

        A refusal is ``status="failed"``; ``ProcessorError`` means no answer (the
        refund stays pending and is asked again with the same key)."""

"""The test-mode processor: Stripe's test cards, simulated offline.

``pm_card_visa`` succeeds, ``pm_card_chargeDeclined`` and
``pm_card_chargeDeclinedInsufficientFunds`` decline with Stripe's codes,
``pm_card_authenticationRequired`` needs the customer (``requires_action``).
Charges and refunds are kept in ``SimulatedCharge`` and ``SimulatedRefund``,
unique by idempotency key, written in their own transaction like a processor
outside the database.
"""

from __future__ import annotations

import hashlib

from django.db import transaction

from core import clock
from payments.cards import test_card, test_card_name
from payments.models import SimulatedCharge, SimulatedRefund
from payments.processors.base import (
    ChargeRequest,
    ChargeResult,
    MethodDetails,
    ProcessorError,
    RefundResult,
)


def _card_details(name: str) -> dict:
    card = test_card(name)
    return {
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": 12,
        "exp_year": clock.now().year + 3,
        "funding": card.funding,
        "country": card.country,
        # Stable per card, as Stripe's fingerprint is per card number.
        "fingerprint": hashlib.sha256(name.encode()).hexdigest()[:16],
    }


def _result(charge: SimulatedCharge) -> ChargeResult:
    card = test_card(charge.token)
    return ChargeResult(
        status=charge.status,
        reference=charge.id,
        amount_received=charge.amount if charge.status == "succeeded" else 0,
        failure_code=charge.failure_code,
        decline_code=charge.decline_code,
        message=card.message,
    )


class Simulator:
    name = "simulator"

    def payment_method_resolve(self, token: str) -> MethodDetails:
        name = test_card_name(token)
        if name is None:
            raise LookupError(token)
        return MethodDetails(reference=name, type="card", card=_card_details(name))

    def charge(self, request: ChargeRequest) -> ChargeResult:
        card = test_card(request.payment_method)
        with transaction.atomic():
            charge, _ = SimulatedCharge.objects.get_or_create(
                idempotency_key=request.idempotency_key,
                defaults={
                    "token": request.payment_method,
                    "amount": request.amount,
                    "currency": request.currency,
                    "status": card.outcome,
                    "failure_code": card.failure_code,
                    "decline_code": card.decline_code,
                    "created": clock.now(),
                },
            )
        if (charge.amount, charge.currency) != (request.amount, request.currency):
            raise ProcessorError(
                "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with."
            )
        return _result(charge)

    def charge_lookup(self, idempotency_key: str) -> ChargeResult | None:
        charge = SimulatedCharge.objects.filter(idempotency_key=idempotency_key).first()
        return None if charge is None else _result(charge)

    def refund(self, *, charge: str, amount: int, idempotency_key: str) -> RefundResult:
        with transaction.atomic():
            row = SimulatedCharge.objects.select_for_update().filter(pk=charge).first()
            # Under the charge's lock: a key asked twice answers the first refund.
            done = SimulatedRefund.objects.filter(
                idempotency_key=idempotency_key
            ).first()
            if done is not None:
                return RefundResult(status="succeeded", reference=done.pk)
            if row is None or row.status != "succeeded":
                return RefundResult(status="failed")
            if row.amount_refunded + amount > row.amount:
                return RefundResult(status="failed")
            row.amount_refunded += amount
            row.save(update_fields=["amount_refunded"])
            done = SimulatedRefund.objects.create(
                idempotency_key=idempotency_key,
                charge=row,
                amount=amount,
                created=clock.now(),
                livemode=row.livemode,
            )
        return RefundResult(status="succeeded", reference=done.pk)

"""Live mode through Stripe, with the official SDK.

A charge is a PaymentIntent created and confirmed off session with Tally's
idempotency key (Stripe replays the first answer for 24 hours) and the key in its
metadata, so ``charge_lookup`` finds it by search after a crash. ``api_base`` is
``TALLY_STRIPE_API_BASE`` (a local contract server in tests).
"""

from __future__ import annotations

import logging

import stripe
from django.conf import settings

from payments.processors.base import (
    ChargeRequest,
    ChargeResult,
    MethodDetails,
    ProcessorError,
    RefundResult,
)

KEY_FIELD = "tally_idempotency_key"
logger = logging.getLogger(__name__)


def _client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.TALLY_STRIPE_SECRET_KEY,
        base_addresses={"api": settings.TALLY_STRIPE_API_BASE},
        max_network_retries=2,
    )


def _plain(obj) -> dict:
    """The SDK's object as a plain dict (its objects are not dicts since v15)."""
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def intent_result(intent) -> ChargeResult:
    """What a Stripe PaymentIntent says of the charge."""
    error = intent.get("last_payment_error") or {}
    status = intent["status"]
    if status == "succeeded":
        return ChargeResult(
            status="succeeded",
            reference=intent["id"],
            amount_received=intent.get("amount_received") or intent["amount"],
        )
    if status == "processing":
        return ChargeResult(status="processing", reference=intent["id"])
    return ChargeResult(
        status="requires_action" if status == "requires_action" else "failed",
        reference=intent["id"],
        failure_code=error.get("code"),
        decline_code=error.get("decline_code"),
        message=error.get("message"),
    )


class StripeProcessor:
    name = "stripe"

    def payment_method_resolve(self, token: str) -> MethodDetails:
        try:
            method = _plain(_client().v1.payment_methods.retrieve(token))
        except stripe.InvalidRequestError:
            raise LookupError(token) from None
        except stripe.StripeError as exc:
            raise ProcessorError(str(exc)) from exc
        card = method.get("card") or {}
        return MethodDetails(
            reference=method["id"],
            type=method["type"],
            card={
                key: card.get(key)
                for key in (
                    "brand",
                    "last4",
                    "exp_month",
                    "exp_year",
                    "funding",
                    "country",
                    "fingerprint",
                )
            },
            processor_customer=method.get("customer"),
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        params = {
            "amount": request.amount,
            "currency": request.currency,
            "payment_method": request.payment_method,
            "confirm": True,
            "off_session": request.off_session,
            "payment_method_types": ["card"],
            "description": request.description,
            "metadata": {
                KEY_FIELD: request.idempotency_key,
                "tally_customer": request.customer,
            },
        }
        if request.processor_customer:
            params["customer"] = request.processor_customer
        try:
            intent = _plain(
                _client().v1.payment_intents.create(
                    params=params, options={"idempotency_key": request.idempotency_key}
                )
            )
        except stripe.CardError as exc:
            intent = (exc.json_body or {}).get("error", {}).get("payment_intent")
            if intent:
                return intent_result(intent)
            return ChargeResult(
                status="failed",
                failure_code=exc.code,
                decline_code=(exc.json_body or {}).get("error", {}).get("decline_code"),
                message=exc.user_message,
            )
        except stripe.StripeError as exc:
            raise ProcessorError(str(exc)) from exc
        return intent_result(intent)

    def charge_lookup(self, idempotency_key: str) -> ChargeResult | None:
        try:
            found = _client().v1.payment_intents.search(
                params={"query": f"metadata['{KEY_FIELD}']:'{idempotency_key}'"}
            )
        except stripe.StripeError as exc:
            raise ProcessorError(str(exc)) from exc
        data = _plain(found).get("data") or []
        return intent_result(data[0]) if data else None

    def refund(self, *, charge: str, amount: int, idempotency_key: str) -> RefundResult:
        # Stripe keeps idempotency keys for 24 hours: a refund asked again later
        # (a worker that died) is first looked for by the key in its metadata.
        client = _client()
        try:
            made = _plain(
                client.v1.refunds.list(params={"payment_intent": charge, "limit": 100})
            )
            found = [
                row
                for row in made.get("data") or []
                if (row.get("metadata") or {}).get(KEY_FIELD) == idempotency_key
            ]
            refund = (
                found[0]
                if found
                else _plain(
                    client.v1.refunds.create(
                        params={
                            "payment_intent": charge,
                            "amount": amount,
                            "metadata": {KEY_FIELD: idempotency_key},
                        },
                        options={"idempotency_key": idempotency_key},
                    )
                )
            )
        except stripe.InvalidRequestError as exc:
            # Stripe refused the refund itself (already refunded, too much, ...).
            logger.warning("Stripe refused refund %s: %s", idempotency_key, exc)
            return RefundResult(status="failed")
        except stripe.StripeError as exc:
            raise ProcessorError(str(exc)) from exc
        return refund_result(refund)


def refund_result(refund) -> RefundResult:
    """What a Stripe Refund says: succeeded, pending (also requires_action), failed."""
    status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(
        refund["status"], "pending"
    )
    return RefundResult(status=status, reference=refund["id"])

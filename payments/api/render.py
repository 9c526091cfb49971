"""Payment methods, payment intents, invoice payments and refunds, Stripe's shapes."""

from __future__ import annotations

from typing import Any

from core.api.fields import unix as ts
from payments.selectors import invoice_payment_list


def _card(card: dict) -> dict[str, Any]:
    brand = card.get("brand")
    return {
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": card.get("country"),
        "display_brand": brand,
        "exp_month": card.get("exp_month"),
        "exp_year": card.get("exp_year"),
        "fingerprint": card.get("fingerprint"),
        "funding": card.get("funding"),
        "generated_from": None,
        "last4": card.get("last4"),
        "networks": {"available": [brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def payment_method(pm) -> dict[str, Any]:
    details = pm.billing_details or {}
    return {
        "id": pm.pk,
        "object": "payment_method",
        "allow_redisplay": pm.allow_redisplay,
        "billing_details": {
            "address": details.get("address"),
            "email": details.get("email"),
            "name": details.get("name"),
            "phone": details.get("phone"),
            "tax_id": details.get("tax_id"),
        },
        "card": _card(pm.card) if pm.type == "card" else None,
        "created": ts(pm.created),
        "customer": pm.customer_id,
        "livemode": pm.livemode,
        "metadata": dict(pm.metadata),
        "type": pm.type,
    }


def _next_action(intent) -> dict | None:
    if intent.status != "requires_action":
        return None
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect"},
    }


def payment_intent(intent) -> dict[str, Any]:
    return {
        "id": intent.pk,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": intent.amount_received,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": ts(intent.canceled_at),
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": None,
        "confirmation_method": "automatic",
        "created": ts(intent.created),
        "currency": intent.currency,
        "customer": intent.customer_id,
        "description": intent.description,
        "last_payment_error": intent.last_payment_error,
        "latest_charge": intent.latest_charge,
        "livemode": intent.livemode,
        "metadata": dict(intent.metadata),
        "next_action": _next_action(intent),
        "on_behalf_of": None,
        "payment_method": intent.payment_method_id,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": intent.status,
        "transfer_data": None,
        "transfer_group": None,
    }


def invoice_payment(payment) -> dict[str, Any]:
    if payment.payment_intent_id:
        paid_with = {
            "type": "payment_intent",
            "payment_intent": payment.payment_intent_id,
        }
    else:
        paid_with = {"type": "payment_record", "payment_record": payment.payment_record}
    return {
        "id": payment.pk,
        "object": "invoice_payment",
        "amount_paid": payment.amount_paid,
        "amount_requested": payment.amount_requested,
        "created": ts(payment.created),
        "currency": payment.currency,
        "invoice": payment.invoice_id,
        "is_default": payment.is_default,
        "livemode": payment.livemode,
        "payment": paid_with,
        "status": payment.status,
        "status_transitions": {
            "canceled_at": ts(payment.canceled_at),
            "paid_at": ts(payment.paid_at),
        },
    }


# How many of an invoice's payments ``expand[]=payments`` shows (Stripe: "the
# first handful"); ``url`` lists them all.
PAYMENTS_INCLUDED = 10


def invoice_payments_included(invoice_id: str) -> dict[str, Any]:
    """``invoice.payments``, included when expanded: a list of invoice payments."""
    rows = list(
        invoice_payment_list(invoice_id=invoice_id).order_by("-created", "-id")[
            : PAYMENTS_INCLUDED + 1
        ]
    )
    return {
        "object": "list",
        "data": [invoice_payment(row) for row in rows[:PAYMENTS_INCLUDED]],
        "has_more": len(rows) > PAYMENTS_INCLUDED,
        "url": f"/v1/invoice_payments?invoice={invoice_id}",
    }


def refund(row) -> dict[str, Any]:
    intent = row.payment_intent
    return {
        "id": row.pk,
        "object": "refund",
        "amount": row.amount,
        "balance_transaction": None,
        "charge": intent.latest_charge,
        "created": ts(row.created),
        "currency": row.currency,
        "customer": intent.customer_id,
        "description": None,
        "destination_details": None,
        "failure_balance_transaction": None,
        # The processor refused it; Stripe's catch-all reason.
        "failure_reason": "unknown" if row.status == "failed" else None,
        "instructions_email": None,
        "metadata": dict(row.metadata),
        "next_action": None,
        "payment_intent": row.payment_intent_id,
        "payment_method": intent.payment_method_id,
        "pending_reason": "processing" if row.status == "pending" else None,
        "reason": row.reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": row.status,
        "transfer_reversal": None,
    }

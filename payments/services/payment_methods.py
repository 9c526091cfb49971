"""Payment methods: create from a processor's token, attach, detach, update.

Attaching a test token's name (``pm_card_visa``) creates a new ``pm_`` first, as
Stripe's test mode does. Card numbers are refused outright.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from billing.models import Subscription
from core import modes
from core.errors import ApiError, InvalidRequest, ResourceMissing
from core.metadata import metadata_merge
from core.models import Customer
from core.services.events import event_emit, event_emit_updated, snapshot
from payments.cards import test_card_name
from payments.models import PaymentMethod
from payments.processors import processor_for
from payments.processors.base import ProcessorError

_UNSAFE = (
    "Sending card numbers directly to Tally is not allowed: create payment methods "
    "from a processor's token (in test mode, e.g. tok_visa or pm_card_visa)."
)


def _resolve(token: str, *, param: str, livemode: bool):
    processor = processor_for(livemode=livemode)
    try:
        return processor, processor.payment_method_resolve(token)
    except LookupError:
        raise InvalidRequest(
            f"No such token: '{token}'", param=param, code="resource_missing"
        ) from None
    except ProcessorError as exc:
        raise ApiError(
            "The payment processor could not be reached; try again.",
            http_status=502,
        ) from exc


def payment_method_create(
    *, params: dict[str, Any], customer: Customer | None = None
) -> PaymentMethod:
    """Create a ``pm_`` from ``card[token]`` (or a test ``pm_card_*`` name)."""
    card = params.get("card") or {}
    if card.get("number") or card.get("cvc"):
        raise InvalidRequest(_UNSAFE, param="card[number]", code="unsafe_card_data")
    token = card.get("token") or params.get("payment_method")
    if not token:
        raise InvalidRequest(
            "Missing required param: card[token].", param="card[token]"
        )
    livemode = customer.livemode if customer else modes.default_livemode()
    processor, details = _resolve(token, param="card[token]", livemode=livemode)
    billing_details = {
        "address": None,
        "email": None,
        "name": None,
        "phone": None,
        "tax_id": None,
        **(params.get("billing_details") or {}),
    }
    with transaction.atomic():
        payment_method = PaymentMethod.objects.create(
            customer=customer,
            type=details.type,
            card=details.card,
            billing_details=billing_details,
            allow_redisplay=params.get("allow_redisplay") or "unspecified",
            processor=processor.name,
            processor_reference=details.reference,
            processor_customer=details.processor_customer,
            metadata=params.get("metadata") or {},
            livemode=livemode,
        )
        if customer is not None:
            event_emit(type="payment_method.attached", instance=payment_method)
    return payment_method


def payment_method_get(payment_method_id: str, *, param: str = "payment_method"):
    """The ``pm_`` in the active mode, or Stripe's 404."""
    payment_method = PaymentMethod.objects.filter(pk=payment_method_id).first()
    if payment_method is None:
        raise ResourceMissing.for_id("payment_method", payment_method_id, param=param)
    return payment_method


def payment_method_for_customer(
    *, customer: Customer, payment_method_id: str, param: str = "payment_method"
) -> PaymentMethod:
    """The customer's attached method; a test card name attaches a new one."""
    if test_card_name(payment_method_id) and not customer.livemode:
        return payment_method_create(
            params={"payment_method": payment_method_id}, customer=customer
        )
    payment_method = payment_method_get(payment_method_id, param=param)
    if payment_method.customer_id != customer.pk:
        raise InvalidRequest(
            f"The customer does not have a payment method with the ID "
            f"{payment_method_id}. The payment method must be attached to the "
            "customer.",
            param=param,
            code="resource_missing",
        )
    return payment_method


def default_payment_method_check(customer: Customer, payment_method_id: str, param):
    """``core``'s hook: a default must be one of the customer's methods."""
    payment_method = payment_method_get(payment_method_id, param=param)
    if payment_method.customer_id != customer.pk:
        payment_method_for_customer(
            customer=customer, payment_method_id=payment_method_id, param=param
        )


def payment_method_attach(*, payment_method_id: str, customer: Customer):
    """Attach a method to a customer (a test card name makes a new one)."""
    if customer.deleted:
        raise InvalidRequest("The customer has been deleted.", param="customer")
    if test_card_name(payment_method_id) and not customer.livemode:
        return payment_method_create(
            params={"payment_method": payment_method_id}, customer=customer
        )
    with transaction.atomic():
        payment_method = (
            PaymentMethod.objects.select_for_update()
            .filter(pk=payment_method_id)
            .first()
        )
        if payment_method is None:
            raise ResourceMissing.for_id(
                "payment_method", payment_method_id, param="payment_method"
            )
        if payment_method.customer_id == customer.pk:
            return payment_method
        if payment_method.customer_id is not None:
            raise InvalidRequest(
                "The payment method you provided has already been attached to a "
                "customer.",
                param="payment_method",
                code="payment_method_unexpected_state",
            )
        payment_method.customer = customer
        payment_method.save(update_fields=["customer"])
        event_emit(type="payment_method.attached", instance=payment_method)
    return payment_method


def payment_method_detach(*, payment_method: PaymentMethod) -> PaymentMethod:
    """Detach a method; it stops being anyone's default."""
    with transaction.atomic():
        payment_method = PaymentMethod.objects.select_for_update().get(
            pk=payment_method.pk
        )
        if payment_method.customer_id is None:
            raise InvalidRequest(
                f"The payment method {payment_method.pk} is not attached to a "
                "customer so detachment is impossible.",
                param="payment_method",
                code="payment_method_unexpected_state",
            )
        customer = Customer.objects.select_for_update().get(
            pk=payment_method.customer_id
        )
        _forget_defaults(customer, payment_method.pk)
        payment_method.customer = None
        payment_method.save(update_fields=["customer"])
        event_emit(type="payment_method.detached", instance=payment_method)
    return payment_method


def _forget_defaults(customer: Customer, payment_method_id: str) -> None:
    settings_now = customer.invoice_settings or {}
    if settings_now.get("default_payment_method") == payment_method_id:
        was = snapshot(customer)
        customer.invoice_settings = {**settings_now, "default_payment_method": None}
        customer.save(update_fields=["invoice_settings"])
        event_emit_updated(type="customer.updated", instance=customer, before=was)
    Subscription.objects.filter(
        customer=customer, default_payment_method=payment_method_id
    ).update(default_payment_method=None)


def payment_method_update(
    *, payment_method: PaymentMethod, params: dict[str, Any]
) -> PaymentMethod:
    """Billing details, expiry, ``allow_redisplay``, metadata."""
    with transaction.atomic():
        payment_method = PaymentMethod.objects.select_for_update().get(
            pk=payment_method.pk
        )
        was = snapshot(payment_method)
        if "billing_details" in params:
            payment_method.billing_details = {
                **payment_method.billing_details,
                **(params["billing_details"] or {}),
            }
        card = params.get("card") or {}
        for field in ("exp_month", "exp_year"):
            if field in card:
                payment_method.card = {**payment_method.card, field: card[field]}
        if params.get("allow_redisplay"):
            payment_method.allow_redisplay = params["allow_redisplay"]
        if "metadata" in params:
            payment_method.metadata = metadata_merge(
                payment_method.metadata, params["metadata"]
            )
        payment_method.save()
        event_emit_updated(
            type="payment_method.updated", instance=payment_method, before=was
        )
    return payment_method


def customer_default_payment_method_set(
    *, customer: Customer, payment_method: PaymentMethod | None
) -> Customer:
    """Make a method (or none) the customer's invoice default (customer pages)."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        was = snapshot(customer)
        customer.invoice_settings = {
            **(customer.invoice_settings or {}),
            "default_payment_method": payment_method.pk if payment_method else None,
        }
        customer.save(update_fields=["invoice_settings"])
        event_emit_updated(type="customer.updated", instance=customer, before=was)
    return customer

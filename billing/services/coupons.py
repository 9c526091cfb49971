"""Coupons and promotion codes: create, update, delete.

Only a coupon's ``name`` and ``metadata`` change after creation (its terms are
what customers were promised); a deleted coupon can no longer be redeemed, and
the discounts made from it go on. A promotion code changes ``active`` and
``metadata``; its code is unique, case-insensitively, among the active codes of
a mode (a unique index refuses a racing duplicate).
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from billing.models import Coupon, PromotionCode
from catalog.models import Product
from core.errors import InvalidRequest, ResourceMissing
from core.metadata import metadata_merge
from core.models import Customer
from core.services.events import event_emit, event_emit_updated, event_record, snapshot

_CODE_ALPHABET = string.ascii_uppercase + string.digits
MAX_REDEEM_BY = timedelta(days=5 * 366)


def _random_code(length: int = 8) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def _check_products(products: list[str]) -> list[str]:
    found = set(Product.objects.filter(pk__in=products).values_list("pk", flat=True))
    for index, product in enumerate(products):
        if product not in found:
            raise ResourceMissing(
                f"No such product: '{product}'",
                param=f"applies_to[products][{index}]",
                http_status=400,
            )
    return list(dict.fromkeys(products))


def _check_redeem_by(redeem_by: datetime | None, now: datetime) -> None:
    if redeem_by is not None and not now < redeem_by <= now + MAX_REDEEM_BY:
        raise InvalidRequest(
            "redeem_by must be in the future and at most 5 years away.",
            param="redeem_by",
        )


@transaction.atomic
def coupon_create(*, params: dict[str, Any], now: datetime) -> Coupon:
    """Create a coupon (``id`` given or random); emits ``coupon.created``."""
    _check_redeem_by(params.get("redeem_by"), now)
    coupon = Coupon(
        id=params.get("id") or _random_code(),
        name=params.get("name"),
        percent_off=params.get("percent_off"),
        amount_off=params.get("amount_off"),
        currency=params.get("currency"),
        duration=params.get("duration", Coupon.Duration.ONCE),
        duration_in_months=params.get("duration_in_months"),
        applies_to_products=_check_products(
            (params.get("applies_to") or {}).get("products") or []
        ),
        max_redemptions=params.get("max_redemptions"),
        redeem_by=params.get("redeem_by"),
        metadata=metadata_merge({}, params.get("metadata")),
        created=now,
    )
    if Coupon._base_manager.filter(pk=coupon.pk).exists():
        raise InvalidRequest(
            "Coupon already exists.", param="id", code="resource_already_exists"
        )
    try:
        with transaction.atomic():
            coupon.save(force_insert=True)
    except IntegrityError as exc:
        raise InvalidRequest(
            "Coupon already exists.", param="id", code="resource_already_exists"
        ) from exc
    event_emit(type="coupon.created", instance=coupon)
    return coupon


@transaction.atomic
def coupon_update(*, coupon: Coupon, params: dict[str, Any]) -> Coupon:
    """Change a coupon's name or metadata (nothing else changes)."""
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    was = snapshot(coupon)
    if "name" in params:
        coupon.name = params["name"]
    if "metadata" in params:
        coupon.metadata = metadata_merge(coupon.metadata, params["metadata"])
    coupon.save(update_fields=["name", "metadata"])
    event_emit_updated(type="coupon.updated", instance=coupon, before=was)
    return coupon


@transaction.atomic
def coupon_delete(*, coupon: Coupon) -> Coupon:
    """Delete a coupon: no new redemptions; its discounts go on."""
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    data = snapshot(coupon)
    coupon.deleted = True
    coupon.save(update_fields=["deleted"])
    event_record(type="coupon.deleted", data_object=data)
    return coupon


def _coupon_for_code(coupon_id: str) -> Coupon:
    coupon = Coupon.objects.filter(pk=coupon_id, deleted=False).first()
    if coupon is None:
        raise ResourceMissing(
            f"No such coupon: '{coupon_id}'", param="promotion[coupon]", http_status=400
        )
    return coupon


def _customer_for_code(customer_id: str | None) -> Customer | None:
    if not customer_id:
        return None
    customer = Customer.objects.filter(pk=customer_id, deleted=False).first()
    if customer is None:
        raise ResourceMissing(
            f"No such customer: '{customer_id}'", param="customer", http_status=400
        )
    return customer


def _check_code_limits(params, coupon: Coupon, now: datetime) -> None:
    expires_at = params.get("expires_at")
    if expires_at is not None and expires_at <= now:
        raise InvalidRequest("expires_at must be in the future.", param="expires_at")
    if expires_at and coupon.redeem_by and expires_at > coupon.redeem_by:
        raise InvalidRequest(
            "expires_at cannot be after the coupon's redeem_by.", param="expires_at"
        )
    limit = params.get("max_redemptions")
    if limit and coupon.max_redemptions and limit > coupon.max_redemptions:
        raise InvalidRequest(
            "max_redemptions cannot exceed the coupon's max_redemptions.",
            param="max_redemptions",
        )


def _code_taken(code: str) -> InvalidRequest:
    return InvalidRequest(
        f"An active promotion code with the code {code!r} already exists.",
        param="code",
        code="resource_already_exists",
    )


def _save_code(promotion_code: PromotionCode) -> None:
    """Save; the unique index on active codes refuses a duplicate, even a racing one."""
    try:
        with transaction.atomic():
            promotion_code.save()
    except IntegrityError as exc:
        raise _code_taken(promotion_code.code) from exc


@transaction.atomic
def promotion_code_create(*, params: dict[str, Any], now: datetime) -> PromotionCode:
    """Create a promotion code for a coupon; emits ``promotion_code.created``."""
    coupon = _coupon_for_code(params["coupon"])
    _check_code_limits(params, coupon, now)
    restrictions = params.get("restrictions") or {}
    promotion_code = PromotionCode(
        code=params.get("code") or _random_code(),
        coupon=coupon,
        customer=_customer_for_code(params.get("customer")),
        active=params.get("active", True),
        expires_at=params.get("expires_at"),
        max_redemptions=params.get("max_redemptions"),
        first_time_transaction=restrictions.get("first_time_transaction", False),
        minimum_amount=restrictions.get("minimum_amount"),
        minimum_amount_currency=restrictions.get("minimum_amount_currency"),
        metadata=metadata_merge({}, params.get("metadata")),
        created=now,
    )
    if promotion_code.customer and promotion_code.customer.livemode != (
        promotion_code.livemode
    ):
        raise ResourceMissing.for_id("customer", params["customer"], param="customer")
    _save_code(promotion_code)
    event_emit(type="promotion_code.created", instance=promotion_code)
    return promotion_code


@transaction.atomic
def promotion_code_update(
    *, promotion_code: PromotionCode, params: dict[str, Any], now: datetime
) -> PromotionCode:
    """Change ``active`` or ``metadata`` of a promotion code."""
    promotion_code = (
        PromotionCode.objects.select_for_update()
        .select_related("coupon")
        .get(pk=promotion_code.pk)
    )
    was = snapshot(promotion_code)
    if params.get("active") and not promotion_code.active:
        if promotion_code.coupon.deleted:
            raise InvalidRequest(
                "The promotion code's coupon is deleted; it cannot be reactivated.",
                param="active",
            )
    if "active" in params:
        promotion_code.active = params["active"]
    if "metadata" in params:
        promotion_code.metadata = metadata_merge(
            promotion_code.metadata, params["metadata"]
        )
    _save_code(promotion_code)
    event_emit_updated(
        type="promotion_code.updated", instance=promotion_code, before=was
    )
    return promotion_code

"""Redeeming a coupon or a promotion code into a ``Discount``.

Each redemption counts once against the coupon's ``max_redemptions`` (and the
code's) by a conditional UPDATE: ``times_redeemed + 1`` only while it is below
the maximum and before ``redeem_by`` / ``expires_at``. PostgreSQL re-checks the
condition on the row a racing redemption just updated, so parallel redemptions
never go over; a refused redemption raises, and the caller's transaction writes
nothing. A promotion code's restrictions are checked first (active, not
expired, its customer, first-time customers, minimum amount).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q

from billing.models import (
    Coupon,
    Discount,
    Invoice,
    InvoiceItem,
    PromotionCode,
    Subscription,
)
from billing.periods import add_months
from core.errors import InvalidRequest, ResourceMissing
from core.models import Customer


@dataclass(frozen=True)
class Target:
    """What a redemption discounts; ``amount`` (minor units) for minimum amounts."""

    customer: Customer
    subscription: Subscription | None = None
    invoice: Invoice | None = None
    invoice_item: InvoiceItem | None = None
    currency: str | None = None
    amount: int | None = None


def _expired(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="coupon_expired")


def coupon_load(coupon_id: str, *, param: str) -> Coupon:
    coupon = Coupon.objects.filter(pk=coupon_id, deleted=False).first()
    if coupon is None:
        raise ResourceMissing(
            f"No such coupon: '{coupon_id}'", param=param, http_status=400
        )
    return coupon


def promotion_code_load(code_id: str, *, param: str) -> PromotionCode:
    code = PromotionCode.objects.select_related("coupon").filter(pk=code_id).first()
    if code is None:
        raise ResourceMissing(
            f"No such promotion code: '{code_id}'", param=param, http_status=400
        )
    return code


def _check_currency(coupon: Coupon, target: Target, param: str) -> None:
    if coupon.amount_off is not None and target.currency is not None:
        if coupon.currency != target.currency:
            raise InvalidRequest(
                f"The coupon {coupon.pk} is in {coupon.currency}, which does not "
                f"match the currency {target.currency}.",
                param=param,
            )


def _has_paid(customer: Customer) -> bool:
    return Invoice.objects.filter(
        customer=customer, status=Invoice.Status.PAID, amount_paid__gt=0
    ).exists()


def _check_restrictions(
    code: PromotionCode, target: Target, now: datetime, param: str
) -> None:
    if not code.active:
        raise _expired(f"The promotion code {code.code} is inactive.", param)
    if code.expires_at is not None and code.expires_at <= now:
        raise _expired(f"The promotion code {code.code} has expired.", param)
    if code.customer_id and code.customer_id != target.customer.pk:
        raise InvalidRequest(
            f"The promotion code {code.code} cannot be redeemed by this customer.",
            param=param,
        )
    if code.first_time_transaction and _has_paid(target.customer):
        raise InvalidRequest(
            f"The promotion code {code.code} is for first-time customers only.",
            param=param,
        )
    if code.minimum_amount is not None:
        enough = (
            target.amount is not None
            and target.currency == code.minimum_amount_currency
            and target.amount >= code.minimum_amount
        )
        if not enough:
            raise InvalidRequest(
                f"The promotion code {code.code} needs a purchase of at least "
                f"{code.minimum_amount} {code.minimum_amount_currency} "
                "(minor units).",
                param=param,
            )


def _count_code(code: PromotionCode, now: datetime, param: str) -> None:
    """One more redemption of the code, if under its maximum (atomic)."""
    counted = (
        PromotionCode.objects.filter(pk=code.pk, active=True)
        .filter(
            Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions"))
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .update(times_redeemed=F("times_redeemed") + 1)
    )
    if not counted:
        raise _expired(
            f"The promotion code {code.code} has reached its maximum redemptions.",
            param,
        )


def _count_coupon(coupon: Coupon, now: datetime, param: str) -> None:
    """One more redemption of the coupon, if still valid (atomic)."""
    counted = (
        Coupon.objects.filter(pk=coupon.pk, deleted=False)
        .filter(
            Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions"))
        )
        .filter(Q(redeem_by__isnull=True) | Q(redeem_by__gt=now))
        .update(times_redeemed=F("times_redeemed") + 1)
    )
    if not counted:
        raise _expired(f"Coupon expired or fully redeemed: {coupon.pk}", param)


def _discount_row(
    coupon: Coupon,
    code: PromotionCode | None,
    target: Target,
    now: datetime,
    position: int,
) -> Discount:
    end = None
    if coupon.duration == Coupon.Duration.REPEATING:
        end = add_months(now, coupon.duration_in_months, now.day)
    return Discount.objects.create(
        coupon=coupon,
        promotion_code=code,
        customer=target.customer,
        subscription=target.subscription,
        invoice=target.invoice,
        invoice_item=target.invoice_item,
        position=position,
        start=now,
        end=end,
        created=now,
        livemode=target.customer.livemode,
    )


def discount_redeem(
    *,
    entry: dict[str, str],
    target: Target,
    now: datetime,
    param: str,
    position: int = 0,
) -> Discount:
    """Redeem ``entry`` (``{coupon}`` or ``{promotion_code}``) into a discount."""
    code = None
    if "promotion_code" in entry:
        code_param = f"{param}[promotion_code]"
        code = promotion_code_load(entry["promotion_code"], param=code_param)
        _check_restrictions(code, target, now, code_param)
        coupon = code.coupon
        if coupon.deleted:
            raise _expired(f"The promotion code {code.code} is invalid.", code_param)
        _check_currency(coupon, target, code_param)
        _count_code(code, now, code_param)
        _count_coupon(coupon, now, code_param)
    else:
        coupon_param = f"{param}[coupon]"
        coupon = coupon_load(entry["coupon"], param=coupon_param)
        _check_currency(coupon, target, coupon_param)
        _count_coupon(coupon, now, coupon_param)
    return _discount_row(coupon, code, target, now, position)

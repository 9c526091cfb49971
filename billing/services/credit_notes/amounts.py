"""What a credit note credits, computed without the database (pure functions).

Input: the invoice as it stands (``InvoiceView``, read under the invoice's lock)
and the request's lines; output: a ``CreditNoteDraft`` or an ``InvalidRequest``.
All amounts are integers in minor units.

An invoice line credited by ``quantity`` q of Q credits ``amount × q / Q``; by
``amount``, that amount. Its discounts, pretax credits (billing credit grants)
and taxes are credited in the same proportion of the line's gross amount. Each
share is the difference of two cumulative roundings (half up) —
``round(part × credited_after / amount) − round(part × credited_before / amount)``
— so the credit notes of a line always add up to exactly the line, never a cent
more, however it is split. A credit note's ``total`` is its gross ``subtotal`` less
discounts and pretax credits plus exclusive taxes, as an invoice's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.services.credit_notes.values import (
    CreditNoteDraft,
    InvoiceView,
    LineDraft,
    LineView,
)
from core.errors import InvalidRequest
from core.money import MAX_AMOUNT

QUANTITY, AMOUNT = "quantity", "amount"
TWELVE_PLACES = Decimal("1e-12")


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share(part: int, whole: int, before: int, after: int) -> int:
    """The part of ``part`` that crediting ``whole`` from ``before`` to ``after``
    takes (cumulative rounding: the shares of a whole add up to ``part``)."""
    return _round(Decimal(part) * after / whole) - _round(
        Decimal(part) * before / whole
    )


def _scaled(entries: Iterable[dict], whole: int, before: int, after: int, keys):
    scaled = []
    for entry in entries:
        new = dict(entry)
        for key in keys:
            if entry.get(key) is not None:
                new[key] = share(entry[key], whole, before, after)
        scaled.append(new)
    return tuple(scaled)


def _bad(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param)


# ---- lines ------------------------------------------------------------------------


def _gross_by_quantity(line: LineView, quantity: int, param: str) -> int:
    if line.quantity is None or line.quantity <= 0:
        raise _bad(
            f"The invoice line {line.id} has no quantity to credit; credit an "
            "amount instead.",
            f"{param}[quantity]",
        )
    left = line.quantity - line.credited_quantity
    if quantity > left:
        raise _bad(
            f"You can credit at most {left.normalize():f} more of the quantity of "
            f"the invoice line {line.id}.",
            f"{param}[quantity]",
        )
    before = line.credited_quantity
    return _round(Decimal(line.amount) * (before + quantity) / line.quantity) - _round(
        Decimal(line.amount) * before / line.quantity
    )


def _invoice_line_draft(
    entry: dict[str, Any], line: LineView, param: str
) -> tuple[LineDraft, LineView]:
    """The credit of one invoice line, and the line as it stands after it."""
    quantity, amount = entry.get("quantity"), entry.get("amount")
    if (quantity is None) == (amount is None):
        raise _bad(
            "Pass exactly one of quantity or amount for an invoice_line_item line.",
            f"{param}[quantity]",
        )
    if line.amount <= 0 or line.credited_amount >= line.amount:
        raise _bad(
            f"The invoice line {line.id} has nothing left to credit.",
            f"{param}[invoice_line_item]",
        )
    by = QUANTITY if quantity is not None else AMOUNT
    if line.credited_by not in (None, by):
        raise _bad(
            f"The invoice line {line.id} was credited by {line.credited_by}; "
            f"credit it by {line.credited_by} again.",
            f"{param}[{by}]",
        )
    if by == QUANTITY:
        gross = _gross_by_quantity(line, quantity, param)
    else:
        left = line.amount - line.credited_amount
        if amount > left:
            raise _bad(
                f"You can credit at most {left} more on the invoice line {line.id}.",
                f"{param}[amount]",
            )
        gross = amount
    before, after = line.credited_amount, line.credited_amount + gross
    draft = LineDraft(
        type="invoice_line_item",
        invoice_line_item=line.id,
        amount=gross,
        description=line.description,
        discount_amounts=_scaled(
            line.discount_amounts, line.amount, before, after, ("amount",)
        ),
        pretax_credit_amounts=_scaled(
            line.pretax_credit_amounts, line.amount, before, after, ("amount",)
        ),
        taxes=_scaled(
            line.taxes, line.amount, before, after, ("amount", "taxable_amount")
        ),
        quantity=quantity,
        unit_amount=(gross // quantity if quantity and gross % quantity == 0 else None),
        unit_amount_decimal=(
            (Decimal(gross) / quantity).quantize(TWELVE_PLACES) if quantity else None
        ),
        metadata=dict(entry.get("metadata") or {}),
    )
    after_line = replace(
        line,
        credited_amount=after,
        credited_quantity=line.credited_quantity + (quantity or 0),
        credited_by=by,
    )
    return draft, after_line


def _custom_line_draft(entry: dict[str, Any], param: str) -> LineDraft:
    unit, unit_decimal = entry.get("unit_amount"), entry.get("unit_amount_decimal")
    if unit is not None and unit_decimal is not None:
        raise _bad(
            "Pass only one of unit_amount and unit_amount_decimal.",
            f"{param}[unit_amount_decimal]",
        )
    if unit is None and unit_decimal is None:
        raise _bad(
            "A custom_line_item line needs a unit_amount.", f"{param}[unit_amount]"
        )
    exact = Decimal(unit) if unit is not None else Decimal(unit_decimal)
    quantity = entry.get("quantity") or 1
    if exact * quantity > MAX_AMOUNT:
        raise _bad("The line's amount is too large.", f"{param}[unit_amount]")
    amount = _round(exact * quantity)
    if amount <= 0:
        raise _bad("A credit note line must credit something.", f"{param}[unit_amount]")
    return LineDraft(
        type="custom_line_item",
        amount=amount,
        description=entry.get("description"),
        quantity=quantity,
        unit_amount=unit if unit is not None else None,
        unit_amount_decimal=exact,
        metadata=dict(entry.get("metadata") or {}),
    )


def lines_draft(
    invoice: InvoiceView, entries: Sequence[dict[str, Any]]
) -> tuple[LineDraft, ...]:
    """Draft each requested line, in order (a line named twice is credited twice)."""
    state = dict(invoice.lines)
    drafts = []
    for index, entry in enumerate(entries):
        param = f"lines[{index}]"
        if entry["type"] == "custom_line_item":
            if entry.get("invoice_line_item") or entry.get("amount") is not None:
                raise _bad(
                    "invoice_line_item and amount apply to invoice_line_item lines "
                    "only.",
                    f"{param}[type]",
                )
            drafts.append(_custom_line_draft(entry, param))
            continue
        line_id = entry.get("invoice_line_item")
        if not line_id:
            raise _bad(
                "An invoice_line_item line needs invoice_line_item.",
                f"{param}[invoice_line_item]",
            )
        if line_id not in state:
            raise _bad(
                f"The invoice {invoice.id} has no line {line_id}.",
                f"{param}[invoice_line_item]",
            )
        draft, state[line_id] = _invoice_line_draft(entry, state[line_id], param)
        drafts.append(draft)
    return tuple(drafts)


# ---- the credit note ----------------------------------------------------------------


def _merged(entries: Iterable[dict], key_of, sums: tuple[str, ...]) -> tuple:
    merged: dict[Any, dict] = {}
    for entry in entries:
        key = key_of(entry)
        if key in merged:
            for name in sums:
                if entry.get(name) is not None:
                    merged[key][name] = (merged[key].get(name) or 0) + entry[name]
        else:
            merged[key] = dict(entry)
    return tuple(merged.values())


def _tax_key(entry: dict) -> tuple:
    rate = (entry.get("tax_rate_details") or {}).get("tax_rate")
    return (rate, entry.get("tax_behavior"), entry.get("taxability_reason"))


DESTINATIONS = ("credit_amount", "refund_amount", "out_of_band_amount")


def credit_note_draft(
    *, invoice: InvoiceView, params: dict[str, Any], post_payment_to: str | None = None
) -> CreditNoteDraft:
    """Compute a credit note on ``invoice`` from create/preview parameters.

    ``post_payment_to`` (the dashboard: one of ``DESTINATIONS``) sends all of
    the post-payment part there, instead of the request's own amounts.
    """
    if invoice.status not in ("open", "paid"):
        raise InvalidRequest(
            f"Credit notes can only be issued on open or paid invoices; this "
            f"invoice is {invoice.status}.",
            param="invoice",
            code="invoice_not_editable" if invoice.status == "draft" else None,
        )
    entries = params.get("lines") or []
    amount = params.get("amount")
    if not entries and amount is None:
        raise _bad("Pass lines or amount.", "lines")
    if entries:
        lines = lines_draft(invoice, entries)
    else:
        lines = (LineDraft(type="custom_line_item", amount=amount, quantity=1),)
    draft = _totals(lines)
    if amount is not None and amount != draft.total:
        raise _bad(
            f"The amount ({amount}) must equal the total of the lines ({draft.total}).",
            "amount",
        )
    _check_within_invoice(invoice, draft.total)
    if post_payment_to is not None:
        post = draft.total - _pre_payment(invoice, draft.total)
        params = {**params, **dict.fromkeys(DESTINATIONS), post_payment_to: post}
    return _parts(invoice, draft, params)


def _totals(lines: tuple[LineDraft, ...]) -> CreditNoteDraft:
    subtotal = sum(line.amount for line in lines)
    inclusive = sum(line.tax("inclusive") for line in lines)
    exclusive = sum(line.tax("exclusive") for line in lines)
    discount_amounts = _merged(
        (e for line in lines for e in line.discount_amounts),
        lambda e: e.get("discount"),
        ("amount",),
    )
    pretax = _merged(
        (e for line in lines for e in line.pretax_credit_amounts),
        lambda e: (
            e.get("type"),
            e.get("credit_balance_transaction"),
            e.get("discount"),
        ),
        ("amount",),
    )
    total = sum(line.total for line in lines)
    return CreditNoteDraft(
        lines=lines,
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal - inclusive,
        total=total,
        total_excluding_tax=total - exclusive - inclusive,
        discount_amount=sum(line.discount_amount for line in lines),
        discount_amounts=discount_amounts,
        pretax_credit_amounts=pretax,
        total_taxes=_merged(
            (t for line in lines for t in line.taxes),
            _tax_key,
            ("amount", "taxable_amount"),
        ),
        pre_payment_amount=0,
        post_payment_amount=0,
        credit_amount=0,
        refund_amount=0,
        out_of_band_amount=None,
    )


def _check_within_invoice(invoice: InvoiceView, total: int) -> None:
    left = max(invoice.total - invoice.credited, 0)
    if total <= 0:
        raise _bad("A credit note must credit a positive amount.", "amount")
    if total > left:
        raise _bad(
            f"The credit note's amount ({total}) is more than is left to credit on "
            f"the invoice ({left} of its total {invoice.total}).",
            "amount",
        )


def _pre_payment(invoice: InvoiceView, total: int) -> int:
    """What the note takes off what the invoice still asks (open invoices)."""
    remaining = invoice.amount_remaining if invoice.status == "open" else 0
    return min(total, max(remaining, 0))


def _parts(
    invoice: InvoiceView, draft: CreditNoteDraft, params: dict[str, Any]
) -> CreditNoteDraft:
    """Split the amount: first off what the invoice still asks, then owed back."""
    pre = _pre_payment(invoice, draft.total)
    post = draft.total - pre
    credit = params.get("credit_amount") or 0
    refund = params.get("refund_amount") or 0
    out_of_band = params.get("out_of_band_amount")
    given = credit + refund + (out_of_band or 0)
    if given != post:
        raise _bad(
            f"The sum of credit_amount, refund_amount and out_of_band_amount "
            f"({given}) must equal the part of the credit note beyond what the "
            f"invoice still asks ({post} of {draft.total}).",
            "credit_amount" if params.get("credit_amount") is not None else "amount",
        )
    refundable = invoice.amount_paid - invoice.refunded
    if refund > refundable:
        raise _bad(
            f"The refund_amount ({refund}) is more than was paid and not yet "
            f"refunded ({refundable}).",
            "refund_amount",
        )
    return replace(
        draft,
        pre_payment_amount=pre,
        post_payment_amount=post,
        credit_amount=credit,
        refund_amount=refund,
        out_of_band_amount=out_of_band,
    )

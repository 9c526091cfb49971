"""Bank-statement reconciliation: a CSV of credits matched to invoices.

Columns (header names, any case): ``date``, ``amount`` (in major units, e.g.
``1234.56``), ``currency`` (optional, default usd) and ``reference``. A line whose
reference is, or contains, exactly one open invoice's number and whose amount is
at most what that invoice still owes is recorded as a payment; any other line is
kept ``unmatched`` with the reason, for staff to assign or ignore.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction

from billing.models import Invoice
from core.errors import InvalidRequest, TallyError
from core.money import currency_exponent
from payments.models import BankStatement, StatementLine
from payments.services.receivables import invoice_payment_record

MAX_LINES = 10_000


def _field(row: dict, *names: str) -> str:
    lowered = {(key or "").strip().lower(): value for key, value in row.items()}
    for name in names:
        if lowered.get(name):
            return lowered[name].strip()
    return ""


def _minor(text: str, currency: str, row: int) -> int:
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise InvalidRequest(f"Line {row}: {text!r} is not an amount.") from None
    minor = amount.scaleb(currency_exponent(currency))
    if minor != minor.to_integral_value():
        raise InvalidRequest(f"Line {row}: {text} has too many decimals.")
    return int(minor)


def statement_rows_parse(csv_text: str) -> list[dict]:
    """The statement's credits; InvalidRequest names the first bad line."""
    rows = []
    for number, row in enumerate(csv.DictReader(io.StringIO(csv_text)), start=2):
        if number - 1 > MAX_LINES:
            raise InvalidRequest(f"A statement has at most {MAX_LINES:,} lines.")
        currency = (_field(row, "currency") or "usd").lower()
        try:
            booked = date.fromisoformat(
                _field(row, "date", "booked_on", "booking date")
            )
        except ValueError:
            raise InvalidRequest(
                f"Line {number}: the date must be YYYY-MM-DD."
            ) from None
        rows.append(
            {
                "row": number,
                "booked_on": booked,
                "currency": currency,
                "amount": _minor(_field(row, "amount"), currency, number),
                "reference": _field(row, "reference", "description", "memo")[:500],
            }
        )
    return rows


def bank_statement_import(
    *, name: str, csv_text: str, now: datetime, livemode: bool
) -> BankStatement:
    """Store a statement's lines, then match each (its own transaction)."""
    rows = statement_rows_parse(
        csv_text
    )  # refused whole, with nothing written, if malformed
    with transaction.atomic():
        statement = BankStatement.objects.create(
            name=name, uploaded_at=now, livemode=livemode
        )
        lines = StatementLine.objects.bulk_create(
            StatementLine(
                statement=statement,
                status=StatementLine.Status.UNMATCHED,
                livemode=livemode,
                **row,
            )
            for row in rows
        )
    for line in lines:
        if line.amount > 0:
            _match(line, now)
    return statement


def _candidates(line: StatementLine) -> list[Invoice]:
    tokens = {token.strip(".,;:()") for token in line.reference.split()}
    tokens.add(line.reference.strip())
    return list(
        Invoice.objects.filter(
            number__in=[token for token in tokens if token],
            currency=line.currency,
            livemode=line.livemode,
        ).exclude(status=Invoice.Status.DRAFT)
    )


def _match(line: StatementLine, now: datetime) -> None:
    found = _candidates(line)
    if len(found) != 1:
        _note(line, "no invoice with this number" if not found else "several invoices")
        return
    _apply(line, found[0], StatementLine.Status.MATCHED, now)


def _note(line: StatementLine, note: str) -> None:
    line.note = note
    line.save(update_fields=["note"])


def _apply(line: StatementLine, invoice: Invoice, status: str, now: datetime) -> bool:
    try:
        payment = invoice_payment_record(
            invoice=invoice,
            amount=line.amount,
            now=now,
            reference=f"{line.statement.name} line {line.row}: {line.reference}",
        )
    except TallyError as error:
        line.invoice = invoice
        _note(line, error.message[:300])
        line.save(update_fields=["invoice"])
        return False
    line.status, line.invoice, line.payment, line.note = status, invoice, payment, ""
    line.save(update_fields=["status", "invoice", "payment", "note"])
    return True


def statement_line_assign(
    *, line: StatementLine, invoice: Invoice, now: datetime
) -> bool:
    """Staff: record an unmatched line as a payment of ``invoice``."""
    if line.status not in (StatementLine.Status.UNMATCHED,):
        raise InvalidRequest("Only an unmatched line can be assigned.")
    if invoice.currency != line.currency:
        raise InvalidRequest("The invoice is in another currency.")
    return _apply(line, invoice, StatementLine.Status.ASSIGNED, now)

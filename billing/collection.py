"""The seam through which billing asks a higher app (payments) to collect.

Billing owns invoices but not money movement: ``POST /v1/invoices/{id}/pay`` with a
payment method calls ``invoice_collect``, which runs the collector the payments app
registers at start-up; the hosted invoice page shows the pay form that app
registers (``hosted_pay_panel``). Without them, Tally records only payments made
elsewhere (``paid_out_of_band``), and the hosted page has no pay button.

Credit notes with a ``refund_amount`` give money back through the refunder the
payments app registers (``credit_note_refund``); without one the refund is only
recorded, as paid back outside Tally.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from core.errors import PaymentRequired


class Collector(Protocol):
    def __call__(
        self,
        *,
        invoice,
        payment_method: str | None,
        off_session: bool | None,
        now: datetime,
    ): ...


_collector: list[Collector] = []


def collector_register(collector: Collector) -> None:
    """Make ``collector`` the one ``invoice_collect`` calls."""
    _collector[:] = [collector]


def invoice_collect(
    *, invoice, payment_method: str | None, off_session: bool | None, now: datetime
):
    """Charge ``invoice`` now; returns it as it stands after the attempt."""
    if not _collector:
        raise PaymentRequired(
            "Tally does not collect payments: record a payment made elsewhere with "
            "paid_out_of_band=true.",
            code="invoice_payment_method_required",
        )
    return _collector[0](
        invoice=invoice, payment_method=payment_method, off_session=off_session, now=now
    )


class PayPanel(Protocol):
    def __call__(self, *, request, invoice, state: dict | None) -> str: ...


_pay_panel: list[PayPanel] = []


def hosted_pay_panel_register(panel: PayPanel) -> None:
    """Make ``panel`` the pay form the hosted invoice page shows."""
    _pay_panel[:] = [panel]


def hosted_pay_panel(*, request, invoice, state: dict | None = None) -> str:
    """The hosted page's pay form as HTML ("" when nothing collects payments).

    ``state`` comes back from the collector's own form handling (an error to
    show); billing passes it through without reading it.
    """
    if not _pay_panel:
        return ""
    return _pay_panel[0](request=request, invoice=invoice, state=state)


class Refunder(Protocol):
    def __call__(self, *, credit_note, invoice, now: datetime) -> list[dict]: ...


_refunder: list[Refunder] = []


def refunder_register(refunder: Refunder) -> None:
    """Make ``refunder`` the one that gives credit notes' refund_amount back."""
    _refunder[:] = [refunder]


def credit_note_refund(*, credit_note, invoice, now: datetime) -> list[dict]:
    """Give back a new credit note's ``refund_amount``; its ``refunds`` entries.

    Runs in the credit note's transaction with the invoice locked: a refunder that
    refuses (nothing to refund through) raises, and nothing is written.
    """
    if not _refunder or not credit_note.refund_amount:
        return []
    return _refunder[0](credit_note=credit_note, invoice=invoice, now=now)

"""The seam through which billing asks a higher app (payments) to collect.

Billing owns invoices but not money movement: ``POST /v1/invoices/{id}/pay`` with a
payment method, and the hosted pages' "Pay", call ``invoice_collect``, which runs
the collector the payments app registers at start-up. Without one, Tally records
only payments made elsewhere (``paid_out_of_band``).
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

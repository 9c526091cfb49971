"""Where taxes come from: one small interface, the manual tax rates behind it.

The pipeline's ``tax`` step (``billing.compose.tax``) builds a ``TaxRequest`` —
each line's taxable amount (after discounts and pretax credits) and the tax
rates it names, the customer's tax status, address and tax ids — and asks the
provider named by the ``TALLY_TAX_PROVIDER`` setting for the per-line taxes
(``LineTax``: amount, inclusive or not, taxable amount, taxability reason,
rounded to minor units). ``ManualTaxRates``, the only provider, applies the
rates as given (``billing.taxes.calculate``), rounded per line or per invoice as
``TALLY_TAX_ROUNDING`` says.

An automatic provider (Stripe Tax, Avalara, Anrok) would implement
``TaxProvider.calculate`` too: map each ``TaxableLine`` to the provider's line
(``amount``, the price's ``tax_code`` and ``tax_behavior`` from the draft line),
send ``customer.address`` / ``customer.tax_ids`` / ``customer.tax_exempt``, and
turn each returned jurisdiction into a ``LineTax`` whose ``tax_rate`` is a
``TaxRate`` row it creates or reuses for that jurisdiction and percentage
(Stripe does the same: automatic taxes name archived rates). It must answer
deterministically for the same request (a preview and the finalization ask
twice; cache by a hash of the request, as Stripe's calculations are keyed), and
raise ``TaxUnavailable`` when it cannot answer, which fails the finalization
(the draft stays a draft) instead of issuing an invoice without tax. Its calls
leave the process while the finalization holds its row locks, so it needs a
short timeout (and its cache, filled by the preview, answers most of them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from billing.taxes.calculate import (
    INVOICE,
    LineTax,
    RateSpec,
    TaxedLine,
    invoice_taxes,
    line_taxes,
)
from core.errors import TallyError


class TaxUnavailable(TallyError):
    """The provider could not compute the taxes (400; the invoice stays a draft)."""

    default_code = "tax_calculation_failed"


@dataclass(frozen=True)
class TaxableLine:
    """One line as taxes see it: what is taxed, and the rates it names."""

    index: int
    amount: int  # minor units, after discounts and pretax credits
    tax_rates: tuple[str, ...]
    price_id: str | None = None
    tax_behavior: str | None = None  # the price's, for automatic providers


@dataclass(frozen=True)
class TaxCustomer:
    """The customer's tax status as billed."""

    tax_exempt: str = "none"  # none | exempt | reverse
    address: Mapping | None = None
    tax_ids: tuple[tuple[str, str], ...] = ()  # (type, value)


@dataclass(frozen=True)
class TaxRequest:
    currency: str
    lines: tuple[TaxableLine, ...]
    customer: TaxCustomer = field(default_factory=TaxCustomer)
    rates: Mapping[str, RateSpec] = field(default_factory=dict)


class TaxProvider(Protocol):
    """Compute the taxes of an invoice's lines."""

    def calculate(self, request: TaxRequest) -> Sequence[LineTax]: ...


class ManualTaxRates:
    """The tax rates named on the lines, applied as given (Stripe's ``tax_rates``),
    rounded per line or per invoice (``rounding``; ``TALLY_TAX_ROUNDING``)."""

    def __init__(self, rounding: str | None = None) -> None:
        self.rounding = rounding or settings.TALLY_TAX_ROUNDING

    def calculate(self, request: TaxRequest) -> list[LineTax]:
        if self.rounding == INVOICE:
            return invoice_taxes(
                lines=[
                    TaxedLine(
                        line.index,
                        line.amount,
                        tuple(request.rates[rate_id] for rate_id in line.tax_rates),
                    )
                    for line in request.lines
                ],
                tax_exempt=request.customer.tax_exempt,
            )
        taxes: list[LineTax] = []
        for line in request.lines:
            rates = [request.rates[rate_id] for rate_id in line.tax_rates]
            taxes += line_taxes(
                line=line.index,
                amount=line.amount,
                rates=rates,
                tax_exempt=request.customer.tax_exempt,
            )
        return taxes


@cache
def _provider_class(path: str) -> type:
    return import_string(path)


def tax_provider() -> TaxProvider:
    """The provider the ``TALLY_TAX_PROVIDER`` setting names."""
    return _provider_class(settings.TALLY_TAX_PROVIDER)()

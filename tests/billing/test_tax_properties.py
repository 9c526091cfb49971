"""Invariants of the pipeline's tax step (hypothesis), on drafts with discounts,
credits and any mix of rates: the totals are exact sums of rounded terms."""

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from billing.compose.balance import apply_balance
from billing.compose.draft import DraftLine, InvoiceDraft
from billing.compose.pipeline import compose
from billing.compose.tax import tax
from billing.compose.totals import totals
from billing.taxes.calculate import RateSpec
from billing.taxes.invoices import taxes_record
from billing.taxes.provider import TaxCustomer
from credits.allocation import Allocation

NOW = datetime(2026, 5, 1, tzinfo=UTC)
RATE_IDS = ("txr_a", "txr_b", "txr_c")


def draft_line(amount: int, rates: tuple[str, ...]) -> DraftLine:
    return DraftLine(
        kind="invoice_item",
        amount=amount,
        currency="usd",
        description="",
        period_start=NOW,
        period_end=NOW,
        tax_rates=rates,
    )


@st.composite
def drafts(draw, inclusive: bool | None = None):
    specs = tuple(
        RateSpec(
            rate_id,
            draw(st.decimals(min_value=0, max_value=100, places=4)),
            draw(st.booleans()) if inclusive is None else inclusive,
        )
        for rate_id in RATE_IDS
    )
    count = draw(st.integers(1, 6))
    lines, discounts, credits = [], [], []
    for index in range(count):
        amount = draw(st.integers(0, 10**9))
        rates = tuple(draw(st.lists(st.sampled_from(RATE_IDS), unique=True)))
        lines.append(draft_line(amount, rates))
        off = draw(st.integers(0, amount))
        if off:
            discounts.append((index, off))
        credit = draw(st.integers(0, amount - off))
        if credit:
            credits.append(Allocation(str(index), "credgr_x", credit))
    return InvoiceDraft(
        customer_id="cus_x",
        currency="usd",
        lines=tuple(lines),
        now=NOW,
        customer_balance=draw(st.integers(-(10**6), 10**6)),
        discounts=tuple(discounts),
        credits=tuple(credits),
        default_tax_rates=tuple(draw(st.lists(st.sampled_from(RATE_IDS), unique=True))),
        tax_rate_specs=specs,
        tax_customer=TaxCustomer(
            tax_exempt=draw(st.sampled_from(["none", "none", "exempt", "reverse"]))
        ),
    )


def priced(draft: InvoiceDraft) -> InvoiceDraft:
    return compose(draft, steps=(tax, apply_balance, totals))


@given(drafts())
def test_total_is_subtotal_less_discounts_and_credits_plus_exclusive_tax(draft):
    done = priced(draft)
    exclusive = sum(t.amount for t in done.taxes if not t.inclusive)
    assert done.subtotal == sum(line.amount for line in draft.lines)
    assert done.total == (
        done.subtotal - done.total_discount - done.total_credit + exclusive
    )
    assert done.amount_due == max(done.total + done.starting_balance, 0)


@given(drafts(inclusive=True))
def test_inclusive_tax_never_changes_the_total(draft):
    done = priced(draft)
    assert done.total == done.subtotal - done.total_discount - done.total_credit
    for line_tax in done.taxes:
        assert line_tax.inclusive


@given(drafts())
def test_line_taxes_sum_to_the_invoice_total_taxes(draft):
    done = priced(draft)
    lines = [SimpleNamespace(taxes=[]) for _ in draft.lines]
    invoice = SimpleNamespace()
    taxes_record(invoice, lines, done, [])
    line_sum = sum(entry["amount"] for line in lines for entry in line.taxes)
    assert line_sum == sum(entry["amount"] for entry in invoice.total_taxes)
    assert line_sum == sum(t.amount for t in done.taxes)
    exclusive = sum(
        e["amount"] for e in invoice.total_taxes if e["tax_behavior"] == "exclusive"
    )
    assert exclusive == done.total_tax


@given(drafts())
def test_tax_is_on_the_amount_after_discounts_and_credits(draft):
    done = priced(draft)
    for line_tax in done.taxes:
        line = draft.lines[line_tax.line]
        left = (
            line.amount
            - sum(a for i, a in draft.discounts if i == line_tax.line)
            - sum(c.amount for c in draft.credits_of(line_tax.line))
        )
        if not line_tax.inclusive and not any(
            t.inclusive for t in done.taxes if t.line == line_tax.line
        ):
            assert line_tax.taxable_amount == left
        if done.tax_customer.tax_exempt != "none":
            assert line_tax.amount == 0


def test_a_draft_without_rates_is_unchanged():
    draft = InvoiceDraft(
        customer_id="cus_x",
        currency="usd",
        lines=(draft_line(1000, ()),),
        now=NOW,
    )
    assert tax(draft) is draft
    assert priced(draft).total == 1000
    assert Decimal(priced(draft).total_tax) == 0


class FlatTaxService:
    """A stand-in automatic provider: 1 minor unit of tax on every taxed line."""

    def calculate(self, request):
        from billing.taxes.calculate import LineTax

        return [
            LineTax(line.index, "txr_auto", 1, False, line.amount, "standard_rated")
            for line in request.lines
        ]


def test_the_provider_setting_selects_the_tax_provider(settings):
    settings.TALLY_TAX_PROVIDER = f"{__name__}.FlatTaxService"
    draft = InvoiceDraft(
        customer_id="cus_x",
        currency="usd",
        lines=(draft_line(1000, ("txr_a",)), draft_line(500, ())),
        now=NOW,
        tax_rate_specs=(RateSpec("txr_a", Decimal(50), False),),
    )
    done = priced(draft)
    assert [(t.line, t.amount, t.taxability_reason) for t in done.taxes] == [
        (0, 1, "standard_rated")
    ]
    assert done.total == 1501

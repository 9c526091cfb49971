"""Stripe's documented test payment methods, as the simulator knows them.

``pm_card_<name>`` and ``tok_<name>`` name a card; the simulator's outcome for a
charge follows the card. No card number is ever accepted or kept: only these
names (test mode) and processor references (live mode).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    funding: str = "credit"
    country: str = "US"
    # What a charge does: succeed, decline (with Stripe's codes), or need 3DS.
    outcome: str = "succeeded"
    failure_code: str | None = None
    decline_code: str | None = None
    message: str | None = None


_DECLINED = "Your card was declined."
CARDS: dict[str, TestCard] = {
    "visa": TestCard("visa", "4242"),
    "visa_debit": TestCard("visa", "5556", funding="debit"),
    "mastercard": TestCard("mastercard", "4444"),
    "amex": TestCard("amex", "8431"),
    "chargeDeclined": TestCard(
        "visa",
        "0002",
        outcome="failed",
        failure_code="card_declined",
        decline_code="generic_decline",
        message=_DECLINED,
    ),
    "chargeDeclinedInsufficientFunds": TestCard(
        "visa",
        "9995",
        outcome="failed",
        failure_code="card_declined",
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
    ),
    "authenticationRequired": TestCard(
        "visa",
        "3184",
        outcome="requires_action",
        failure_code="authentication_required",
        decline_code="authentication_required",
        message="Your card was declined. This transaction requires authentication.",
    ),
}
PREFIXES = ("pm_card_", "tok_")


def test_card_name(reference: str) -> str | None:
    """The card a test token names (``pm_card_visa`` → ``visa``), else None."""
    for prefix in PREFIXES:
        if reference.startswith(prefix) and reference[len(prefix) :] in CARDS:
            return reference[len(prefix) :]
    return None


def test_card(name: str) -> TestCard:
    return CARDS[name]

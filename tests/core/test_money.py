"""Money: Decimal minor units, no floats, currency exponents, formatting."""

from decimal import Decimal

import pytest

from core.money import Money, currency_exponent, format_minor


def test_refuses_floats():
    with pytest.raises(TypeError):
        Money(1.5, "usd")


def test_refuses_mixed_currencies():
    with pytest.raises(ValueError):
        Money(Decimal(1), "usd") + Money(Decimal(1), "eur")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0.5", 1), ("0.4999", 0), ("1.5", 2), ("2.5", 3), ("-0.5", -1), ("0.1", 0)],
)
def test_rounding_half_up(amount, expected):
    assert Money(Decimal(amount), "usd").rounded().minor_units == expected


def test_minor_units_must_be_whole():
    with pytest.raises(ValueError):
        Money(Decimal("1.5"), "usd").minor_units  # noqa: B018


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("usd", 2), ("JPY", 0), ("kwd", 3), ("krw", 0), ("eur", 2)],
)
def test_exponents(currency, exponent):
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (123450, "usd", "$1,234.50"),
        (500, "jpy", "¥500"),
        (12345, "kwd", "12.345 KWD"),
        (Decimal("0.1"), "usd", "$0.001"),
        (-250, "eur", "-€2.50"),
        (0, "usd", "$0.00"),
    ],
)
def test_format(amount, currency, text):
    assert format_minor(amount, currency) == text


def test_arithmetic():
    total = Money(Decimal("0.1"), "usd") * 5 + Money(Decimal(3), "usd")
    assert total == Money(Decimal("3.5"), "usd")
    assert (-total).amount == Decimal("-3.5")
    assert Money(Decimal(2), "usd").major == Decimal("0.02")

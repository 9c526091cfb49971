"""Money: a Decimal amount in the currency's minor unit, and ISO 4217 exponents.

Amounts are kept in minor units (cents for USD, yen for JPY, fils for KWD) so that
rounding a line to the currency is always a quantize to a whole number; unit prices
may carry up to 12 decimal places of a minor unit (0.1 cent = Decimal("0.1")).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Currencies whose minor unit is the major unit (Stripe's list).
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())
MAX_UNIT_DECIMAL_PLACES = 12
# The largest amount, in minor units, a parameter may carry (a little under 10
# billion in a two-decimal currency): far beyond any real charge, and sums of many
# stay far inside the 64-bit columns that keep them.
MAX_AMOUNT = 999_999_999_999

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def currency_exponent(currency: str) -> int:
    """Return how many decimal places separate the major from the minor unit."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Convert to Decimal, refusing floats (binary floats cannot hold cents exactly)."""
    if isinstance(value, float):
        raise TypeError("Money never takes a float; pass a Decimal, int or str")
    if isinstance(value, bool):
        raise TypeError("Money never takes a bool")
    return value if isinstance(value, Decimal) else Decimal(value)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of ``currency`` (lowercase ISO 4217)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "currency", self.currency.lower())

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    def rounded(self, rounding: str = ROUND_HALF_UP) -> Money:
        """Return the amount rounded to a whole minor unit with ``rounding``."""
        return Money(self.amount.quantize(Decimal(1), rounding=rounding), self.currency)

    @property
    def minor_units(self) -> int:
        """Return the amount as an integer of minor units; it must be whole."""
        if self.amount != self.amount.to_integral_value():
            raise ValueError(f"{self.amount} {self.currency} is not a whole minor unit")
        return int(self.amount)

    @property
    def major(self) -> Decimal:
        """Return the amount in major units (dollars), exact."""
        return self.amount.scaleb(-currency_exponent(self.currency))

    def format(self) -> str:
        """Return a human string such as ``$1,234.50`` or ``¥500`` or ``12.345 KWD``."""
        return format_minor(self.amount, self.currency)


def format_minor(amount: Decimal | int, currency: str) -> str:
    """Format an amount in minor units for people, with the currency's decimals."""
    exponent = currency_exponent(currency)
    major = to_decimal(amount).scaleb(-exponent)
    places = max(exponent, -major.normalize().as_tuple().exponent)
    text = f"{abs(major):,.{max(places, exponent)}f}"
    sign = "-" if major < 0 else ""
    symbol = _SYMBOLS.get(currency.lower())
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency.upper()}"

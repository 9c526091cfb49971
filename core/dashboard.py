"""Extension points of the staff dashboard that higher apps plug into.

The customer page shows panels (subscriptions, invoices, credit grants, alerts) that
live in apps core may not import; each app registers its panel in ``ready()``.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.safestring import SafeString


@dataclass(frozen=True)
class CustomerPanel:
    """A block on the customer page; ``render(customer, request)`` returns HTML."""

    name: str
    title: str
    render: Callable[..., SafeString]
    order: int = 100


_customer_panels: dict[str, CustomerPanel] = {}


def register_customer_panel(panel: CustomerPanel) -> None:
    _customer_panels[panel.name] = panel


def customer_panels() -> list[CustomerPanel]:
    return sorted(
        _customer_panels.values(), key=lambda panel: (panel.order, panel.name)
    )


@dataclass(frozen=True)
class HomeCard:
    """A figure on the dashboard home: ``value(request)`` is its text; ``url`` the
    list behind it (a URL, a URL name, or ``url(request)`` for a dated filter)."""

    name: str
    label: str
    value: Callable[..., str]
    url: str | Callable[..., str] = ""
    order: int = 100
    # A count over a whole table (100,000 customers is a scan of them all) is kept
    # this long per mode; 0 reads it on every visit. Only for figures staff look
    # at, never for one they act on (open invoices, drafts waiting stay live).
    cache_seconds: int = 0


_home_cards: dict[str, HomeCard] = {}


def register_home_card(card: HomeCard) -> None:
    _home_cards[card.name] = card


def home_cards() -> list[HomeCard]:
    return sorted(_home_cards.values(), key=lambda card: (card.order, card.name))


@dataclass(frozen=True)
class HomeSection:
    """A block of the dashboard home (a chart, a table); ``render(request)`` is HTML.

    Each app draws its own from its selectors, so the home can show every app's
    figures while core imports none of them.
    """

    name: str
    render: Callable[..., SafeString]
    order: int = 100
    # Aggregates over a million invoices are kept this long (per mode), so the
    # home opens at once; 0 draws the section on every visit.
    cache_seconds: int = 0


_home_sections: dict[str, HomeSection] = {}


def register_home_section(section: HomeSection) -> None:
    _home_sections[section.name] = section


def home_sections() -> list[HomeSection]:
    return sorted(
        _home_sections.values(), key=lambda section: (section.order, section.name)
    )


def _kept(name: str, seconds: int, draw: Callable[[], str]) -> tuple[str, datetime]:
    """``draw()`` and when it was drawn: now, or from the cache (per mode)."""
    from django.core.cache import cache

    from core import clock, modes

    if not seconds:
        return draw(), clock.now()
    key = f"tally:home:{name}:{modes.active()}"
    found = cache.get(key)
    if found is None:
        found = (str(draw()), clock.now())
        cache.set(key, found, seconds)
    return found


def home_section_html(section: HomeSection, request) -> tuple[SafeString, datetime]:
    """The section's HTML and when it was drawn: now, or from the cache."""
    html, drawn = _kept(
        section.name, section.cache_seconds, lambda: section.render(request)
    )
    return SafeString(html), drawn


def home_card_value(card: HomeCard, request) -> str:
    """The card's figure: read now, or kept ``cache_seconds`` (``HomeCard``)."""
    return _kept(f"card:{card.name}", card.cache_seconds, lambda: card.value(request))[
        0
    ]


@dataclass(frozen=True)
class QuickLink:
    """A primary action on the dashboard home, e.g. "Create product"."""

    label: str
    url: str
    order: int = 100


_quick_links: dict[str, QuickLink] = {}


def register_quick_link(link: QuickLink) -> None:
    _quick_links[link.label] = link


def quick_links() -> list[QuickLink]:
    return sorted(_quick_links.values(), key=lambda link: (link.order, link.label))


# Shortcuts of "Advance test clock to…": ``moments(test_clock)`` returns
# (label, aware datetime) pairs after the clock's time, e.g. the next period end.
_clock_shortcuts: list[Callable[..., list[tuple[str, datetime]]]] = []


def register_clock_shortcut(moments: Callable[..., list[tuple[str, datetime]]]) -> None:
    if moments not in _clock_shortcuts:
        _clock_shortcuts.append(moments)


def clock_shortcuts(test_clock) -> list[tuple[str, datetime]]:
    """+1 day, +1 month, then each app's moments (later than the clock, in order)."""
    now = test_clock.frozen_time
    shortcuts = [("+1 day", now + timedelta(days=1)), ("+1 month", _next_month(now))]
    found = [pair for moments in _clock_shortcuts for pair in moments(test_clock)]
    return shortcuts + sorted(
        (pair for pair in found if pair[1] > now), key=lambda pair: pair[1]
    )


def _next_month(moment: datetime) -> datetime:
    """The same day of the next month, or its last day (Jan 31 → Feb 28)."""
    year, month = moment.year + moment.month // 12, moment.month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# The meter page's figure for one customer comes from the app that knows billing
# periods: ``usage(meter=, customer=, now=)`` returns rows with ``start``, ``end``,
# ``usage`` and ``item`` (None when no subscription bills the meter).
_meter_usage: list[Callable[..., list]] = []


def register_meter_usage(usage: Callable[..., list]) -> None:
    _meter_usage[:] = [usage]


def meter_usage(*, meter, customer, now: datetime) -> list:
    """The customer's usage so far of the meter, as its customer page shows it."""
    return (
        _meter_usage[0](meter=meter, customer=customer, now=now) if _meter_usage else []
    )

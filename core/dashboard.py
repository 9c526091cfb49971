"""Extension points of the staff dashboard that higher apps plug into.

The customer page shows panels (subscriptions, invoices, credit grants, alerts) that
live in apps core may not import; each app registers its panel in ``ready()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    """A figure on the dashboard home: ``value(request)`` is its text."""

    name: str
    label: str
    value: Callable[..., str]
    url: str = ""
    order: int = 100


_home_cards: dict[str, HomeCard] = {}


def register_home_card(card: HomeCard) -> None:
    _home_cards[card.name] = card


def home_cards() -> list[HomeCard]:
    return sorted(_home_cards.values(), key=lambda card: (card.order, card.name))


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

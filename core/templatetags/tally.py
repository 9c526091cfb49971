"""Template helpers for the dashboard and customer pages."""

from decimal import Decimal

from django import template
from django.urls import NoReverseMatch, reverse

from core.dashboard import (
    home_card_value,
    home_cards,
    home_section_html,
    home_sections,
    quick_links,
)
from core.money import format_minor

register = template.Library()


@register.filter
def money(amount, currency: str = "usd") -> str:
    """Format an amount in minor units: ``{{ 12345|money:"usd" }}`` → ``$123.45``."""
    if amount is None or amount == "":
        return "—"
    return format_minor(Decimal(str(amount)), currency or "usd")


def _resolve(url: str) -> str:
    if url.startswith("/"):
        return url
    try:
        return reverse(url)
    except NoReverseMatch:
        return ""


@register.inclusion_tag("admin/tally_home.html", takes_context=True)
def tally_home(context):
    request = context["request"]
    cards = [
        {
            "label": card.label,
            "value": home_card_value(card, request),
            "url": _resolve(card.url(request) if callable(card.url) else card.url),
        }
        for card in home_cards()
    ]
    links = [{"label": link.label, "url": _resolve(link.url)} for link in quick_links()]
    drawn = [home_section_html(section, request) for section in home_sections()]
    sections = [html for html, _ in drawn]
    return {
        "cards": cards,
        "links": [link for link in links if link["url"]],
        "sections": sections,
        "drawn_at": min((at for _, at in drawn), default=None),
        "cached": any(section.cache_seconds for section in home_sections()),
    }

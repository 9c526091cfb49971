"""Customer pages: what a customer sees through their link, assembled from sections.

Core owns the frame (the link check, the page shell, the overview); each app adds
sections to the overview and pages of its own (billing: invoices; metering: usage;
credits: balance), registering them in ``AppConfig.ready`` since core may not
import them. Every page shows only the data of the link's customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString

from core import clock, modes
from core.models import Customer, PortalSession
from core.services.portal import portal_session_open


@dataclass(frozen=True)
class CustomerPage:
    """One request to a customer page: whose it is, and "now" on their clock."""

    request: HttpRequest
    session: PortalSession
    token: str
    now: datetime

    @property
    def customer(self) -> Customer:
        return self.session.customer

    def url(self, name: str, **kwargs) -> str:
        return reverse(f"portal:{name}", kwargs={"token": self.token, **kwargs})

    def render(self, template: str, context: dict, *, status: int = 200):
        return render(
            self.request,
            template,
            {"page": self, "customer": self.customer, **context},
            status=status,
        )


@dataclass(frozen=True)
class PortalSection:
    """A block of the overview; ``render(page)`` returns HTML, or "" to hide it."""

    name: str
    title: str
    render: Callable[[CustomerPage], SafeString | str]
    order: int = 100


_sections: dict[str, PortalSection] = {}


def register_sections(*new: PortalSection) -> None:
    for section in new:
        _sections[section.name] = section


def sections() -> list[PortalSection]:
    return sorted(_sections.values(), key=lambda section: (section.order, section.name))


def _private(response: HttpResponse) -> HttpResponse:
    # The link is the credential: keep pages out of caches, referrers and indexes.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def customer_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve the link's token to its customer, or answer "link expired" (404)."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str, **kwargs) -> HttpResponse:
        session = portal_session_open(secret=token, now=clock.now())
        if session is None:
            return _private(render(request, "portal/expired.html", status=404))
        page = CustomerPage(
            request=request,
            session=session,
            token=token,
            now=clock.now_for_customer(session.customer),
        )
        # The pages see their customer's mode only (``core.modes``): an id in a URL
        # or a form that belongs to the other mode is not there.
        with modes.scope(session.customer.livemode):
            return _private(view(request, page, **kwargs))

    return wrapped

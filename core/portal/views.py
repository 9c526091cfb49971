"""The customer overview: every app's section, in order."""

from __future__ import annotations

from django.views.decorators.http import require_safe

from core.portal import CustomerPage, customer_page, sections


@require_safe
@customer_page
def overview(request, page: CustomerPage):
    blocks = []
    for section in sections():
        html = section.render(page)
        if html:
            blocks.append({"name": section.name, "title": section.title, "html": html})
    return page.render("portal/overview.html", {"blocks": blocks, "nav": "overview"})

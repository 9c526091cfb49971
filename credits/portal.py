"""Credits on the customer's pages: what is available now, and each live grant."""

from __future__ import annotations

from django.template.loader import render_to_string

from core.portal import CustomerPage, PortalSection
from credits import selectors
from credits.models import CreditGrant

LIVE = (CreditGrant.Status.PENDING, CreditGrant.Status.ACTIVE)


def credits_section(page: CustomerPage) -> str:
    """Hidden for customers who never had credits."""
    balances = selectors.credit_balance_summary(
        customer_id=page.customer.pk, now=page.now
    )
    if not balances:
        return ""
    grants = CreditGrant.objects.filter(
        customer=page.customer, status__in=LIVE, balance__gt=0
    ).order_by("priority", "expires_at", "created", "id")
    return render_to_string(
        "credits/portal/_credits.html",
        {"balances": balances, "grants": grants, "now": page.now},
    )


SECTIONS = [
    PortalSection(
        name="credits", title="Credit balance", render=credits_section, order=30
    ),
]

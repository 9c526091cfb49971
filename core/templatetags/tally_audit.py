"""``{% history_panel object_id %}``: the "History" panel of an object's page."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from core import audit

register = template.Library()


@register.inclusion_tag("admin/core/_history_panel.html")
def history_panel(object_id: str) -> dict:
    return history_context(object_id)


def history_rows_html(customer, request) -> SafeString:
    """The customer page's "History" panel (``core.dashboard.CustomerPanel``)."""
    return render_to_string(
        "admin/core/_history_rows.html", history_context(customer.pk), request
    )


def history_context(object_id: str) -> dict:
    entries = audit.object_history(object_id=object_id)
    return {
        "rows": [
            {
                "entry": entry,
                "who": audit.actor_label(entry.actor),
                "changes": audit.changed_fields(entry),
            }
            for entry in entries
        ],
        "more": len(entries) == audit.HISTORY_ROWS,
        "list_url": f"{reverse('admin:core_auditentry_changelist')}?q={object_id}",
    }

"""The invoice list's bulk actions: finalize, send, void the selected invoices.

As Stripe's dashboard does for a selection of invoices. Each needs the change
permission on invoices (the Finance and Admin roles, ``core.roles``); a
read-only user sees none of them and is refused if the POST is made anyway.
"""

from __future__ import annotations

from django.contrib import admin, messages

from billing.services.bulk_actions import invoices_bulk_action

_DONE = {"finalize": "Finalized", "send": "Sent", "void": "Voided"}
# Refusals listed one by one up to this many; beyond, a count.
_LISTED = 10


def _report(request, action: str, result) -> None:
    if result.done:
        count = len(result.done)
        plural = "invoice" if count == 1 else "invoices"
        messages.success(request, f"{_DONE[action]} {count} {plural}.")
    for label, reason in result.refused[:_LISTED]:
        messages.error(request, f"{label}: not {_DONE[action].lower()}: {reason}")
    if len(result.refused) > _LISTED:
        more = len(result.refused) - _LISTED
        messages.error(
            request, f"{more} more invoices were not {_DONE[action].lower()}."
        )


def _bulk(action: str, description: str):
    @admin.action(description=description, permissions=["change"])
    def apply(model_admin, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        _report(request, action, invoices_bulk_action(action=action, invoice_ids=ids))

    apply.__name__ = f"{action}_selected"
    return apply


finalize_selected = _bulk("finalize", "Finalize selected draft invoices")
send_selected = _bulk("send", "Send selected open invoices")
void_selected = _bulk("void", "Void selected open invoices")
INVOICE_ACTIONS = [finalize_selected, send_selected, void_selected]

"""The email outbox in the dashboard: the emails Tally sent or will send, read-only."""

from __future__ import annotations

from django.contrib import admin

from core.models import (
    OutboundEmail,
)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("subject", "recipients", "status", "attempt_count", "created")
    list_filter = ("status", "template")
    search_fields = ("subject", "to")
    fields = (
        "subject",
        "recipients",
        "template",
        "status",
        "attempt_count",
        "last_error",
        "created",
        "sent_at",
        "next_attempt_at",
        "text",
    )
    readonly_fields = fields

    @admin.display(description="To")
    def recipients(self, email: OutboundEmail) -> str:
        return ", ".join(email.to)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

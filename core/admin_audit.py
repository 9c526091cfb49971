"""The audit log in the dashboard: a searchable list, never editable (core.audit)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from core import audit
from core.admin_export import CsvExportMixin
from core.admin_filters import CreatedPeriodFilter
from core.models import AuditEntry


class ActorKindFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor_kind"

    def lookups(self, request, model_admin):
        return [*audit.ACTOR_KINDS.items(), ("system", "System")]

    def queryset(self, request, queryset):
        kind = self.value()
        if kind == "system":
            return queryset.filter(actor="")
        if kind in audit.ACTOR_KINDS:
            return queryset.filter(actor__startswith=f"{kind}:")
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(CsvExportMixin, admin.ModelAdmin):
    list_display = ("created", "who", "type", "object_link", "changes")
    list_filter = (ActorKindFilter, CreatedPeriodFilter, "type")
    # Exact ids and prefixes: an object's id, an actor ("user:ana"), an event type.
    search_fields = ("=object_id", "=id", "actor", "^type")
    search_help_text = "An object id (cus_…, in_…), a user, an API key id or a type."
    ordering = ("-created", "-id")
    show_full_result_count = False
    readonly_fields = (
        "id",
        "created",
        "who",
        "type",
        "object_link",
        "changes",
        "request_id",
        "pretty_data",
    )
    fields = readonly_fields

    @admin.display(description="Who", ordering="actor")
    def who(self, entry: AuditEntry) -> str:
        return audit.actor_label(entry.actor)

    @admin.display(description="Object")
    def object_link(self, entry: AuditEntry):
        url = audit.object_admin_url(entry)
        if not url:
            return entry.object_id
        return format_html('<a href="{}">{}</a>', url, entry.object_id)

    @admin.display(description="Changed")
    def changes(self, entry: AuditEntry) -> str:
        return ", ".join(audit.changed_fields(entry))

    @admin.display(description="Object after the change")
    def pretty_data(self, entry: AuditEntry):
        return format_html(
            "<pre class='json'>{}</pre>", json.dumps(entry.data, indent=2)
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

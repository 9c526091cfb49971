"""Meters in the staff dashboard; the pages live in ``metering.views``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from core.admin_pages import PagesAdmin
from metering import views
from metering.models import Meter


@admin.register(Meter)
class MeterAdmin(PagesAdmin):
    list_display = (
        "display_name",
        "event_name",
        "formula",
        "event_time_window",
        "status_badge",
        "id",
        "created",
    )
    list_filter = ("status", "formula")
    search_fields = ("id", "display_name", "event_name")
    ordering = ("-created", "-id")
    create_page = views.meter_create
    detail_page = views.meter_detail

    @admin.display(description="Status", ordering="status")
    def status_badge(self, meter: Meter):
        return format_html(
            '<span class="tally-badge {}">{}</span>',
            meter.status,
            meter.get_status_display(),
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Meters are deactivated, never deleted: events and prices point at them.
        return False

    def action_urls(self):
        return [
            ("rename", "rename", views.meter_rename),
            ("deactivate", "deactivate", views.meter_deactivate),
            ("reactivate", "reactivate", views.meter_reactivate),
            ("test_event", "test_event", views.meter_send_test_event),
            ("event_cancel", "events/<int:event_id>/cancel", views.meter_event_cancel),
        ]

"""Meters in the staff dashboard; the pages live in ``metering.views``."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from metering import views
from metering.models import Meter


@admin.register(Meter)
class MeterAdmin(admin.ModelAdmin):
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

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return views.meter_create(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            raise PermissionDenied
        return views.meter_detail(request, unquote(object_id), model_admin=self)

    def _changing(self, view):
        def wrapped(request, *args, **kwargs):
            if not self.has_change_permission(request):
                raise PermissionDenied
            return view(request, *args, model_admin=self, **kwargs)

        return self.admin_site.admin_view(require_POST(wrapped))

    def get_urls(self):
        actions = [
            ("rename", views.meter_rename),
            ("deactivate", views.meter_deactivate),
            ("reactivate", views.meter_reactivate),
            ("test_event", views.meter_send_test_event),
        ]
        return [
            *(
                path(
                    f"<path:meter_id>/{name}/",
                    self._changing(view),
                    name=f"metering_meter_{name}",
                )
                for name, view in actions
            ),
            path(
                "<path:meter_id>/events/<int:event_id>/cancel/",
                self._changing(views.meter_event_cancel),
                name="metering_meter_event_cancel",
            ),
            *super().get_urls(),
        ]

"""Dashboard → Developers → Webhooks → a delivery: its attempts and payload, resent
by hand; the badges of delivery states.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core import clock, modes, resources
from core.errors import TallyError
from core.models import (
    WebhookDelivery,
)
from core.services import webhooks

DELIVERY_BADGES = {
    WebhookDelivery.Status.SUCCEEDED: "ok",
    WebhookDelivery.Status.PENDING: "warn",
    WebhookDelivery.Status.FAILED: "bad",
    WebhookDelivery.Status.CANCELED: "bad",
}


def _in_dashboard_mode(deliveries):
    livemode = modes.active()
    if livemode is None:
        return deliveries
    return deliveries.filter(endpoint__livemode=livemode)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event_type",
        "event_link",
        "endpoint",
        "status_badge",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "created",
    )
    list_filter = ("status", "endpoint")
    search_fields = ("event__id", "event__type", "endpoint__url")
    list_select_related = ("event", "endpoint")
    ordering = ("-id",)

    def get_queryset(self, request):
        # Deliveries have the mode of their endpoint (and event): the dashboard's.
        return _in_dashboard_mode(super().get_queryset(request))

    @admin.display(description="Event type", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description="Event")
    def event_link(self, delivery: WebhookDelivery):
        return format_html("<code>{}</code>", delivery.event_id)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, delivery: WebhookDelivery):
        return format_html(
            '<span class="tally-badge {}">{}</span>',
            DELIVERY_BADGES[delivery.status],
            delivery.status,
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        delivery = get_object_or_404(
            _in_dashboard_mode(
                WebhookDelivery.objects.select_related("event", "endpoint")
            ),
            pk=unquote(object_id),
        )
        if not self.has_view_or_change_permission(request, delivery):
            raise PermissionDenied
        payload = resources.serialize(delivery.event)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": delivery,
            "title": f"{delivery.event.type} → {delivery.endpoint.url}",
            "badge": DELIVERY_BADGES[delivery.status],
            "attempts": delivery.attempts.all(),
            "payload": json.dumps(payload, indent=2, ensure_ascii=False),
            "can_resend": delivery.endpoint.is_enabled,
            "may_resend": self.has_change_permission(request, delivery),
        }
        return TemplateResponse(
            request, "admin/core/webhookdelivery/detail.html", context
        )

    def get_urls(self):
        return [
            path(
                "<int:object_id>/resend/",
                self.admin_site.admin_view(self.resend_view),
                name="core_webhookdelivery_resend",
            ),
            *super().get_urls(),
        ]

    def resend_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        delivery = get_object_or_404(
            _in_dashboard_mode(WebhookDelivery.objects.all()), pk=object_id
        )
        if not self.has_change_permission(request, delivery):
            raise PermissionDenied
        try:
            webhooks.webhook_delivery_resend(delivery=delivery, now=clock.now())
        except TallyError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, "Sent again; the attempt is listed below.")
        return HttpResponseRedirect(
            reverse("admin:core_webhookdelivery_change", args=[quote(delivery.pk)])
        )

"""Dashboard → Developers → Webhooks: the endpoints, their health and recent
deliveries; reveal or roll a secret, send a test event, disable and enable.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core import clock, modes
from core.errors import TallyError
from core.models import (
    WebhookEndpoint,
)
from core.services import webhooks
from core.webhooks import policy
from core.webhooks.admin.deliveries import (
    DELIVERY_BADGES,
)

RECENT_DELIVERIES = 25


ROLL_CHOICES = [
    ("0", "now"),
    ("1", "in 1 hour"),
    ("24", "in 24 hours"),
]


def endpoint_health(endpoint: WebhookEndpoint) -> tuple[str, str]:
    """(badge class, label) for an endpoint's state."""
    if not endpoint.is_enabled:
        reason = endpoint.get_disabled_reason_display() or "manual"
        return "bad", f"disabled ({reason.lower()})"
    if endpoint.failing_since is not None:
        return "warn", "failing"
    return "ok", "enabled"


class WebhookEndpointForm(forms.ModelForm):
    all_events = forms.BooleanField(
        label="Send all events",
        required=False,
        help_text="Every event Tally records, including types added later.",
    )
    events = forms.MultipleChoiceField(
        label="Events to send",
        choices=[(name, name) for name in policy.KNOWN_EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    other_events = forms.CharField(
        label="Other event types",
        required=False,
        help_text="Comma-separated, e.g. for types an integration written for Stripe "
        "listens to.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description")
        labels = {"url": "URL"}
        widgets = {"url": forms.URLInput(attrs={"size": 80})}
        help_texts = {
            "url": "http or https; Tally POSTs each event here, signed with the "
            "endpoint's secret."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["description"].widget = forms.TextInput(attrs={"size": 80})
        current = list(self.instance.enabled_events or []) if self.instance.pk else []
        self.fields["all_events"].initial = policy.ALL_EVENTS in current
        known = set(policy.KNOWN_EVENT_TYPES)
        self.fields["events"].initial = [name for name in current if name in known]
        self.fields["other_events"].initial = ", ".join(
            name for name in current if name not in known and name != policy.ALL_EVENTS
        )

    def clean_url(self) -> str:
        try:
            return policy.validate_url(self.cleaned_data["url"])
        except TallyError as error:
            raise ValidationError(error.message) from error

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("all_events"):
            chosen = [policy.ALL_EVENTS]
        else:
            others = [
                name.strip()
                for name in (cleaned.get("other_events") or "").split(",")
                if name.strip()
            ]
            chosen = [*cleaned.get("events", []), *others]
        try:
            cleaned["enabled_events"] = policy.validate_enabled_events(chosen)
        except TallyError as error:
            self.add_error("events", error.message)
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = (
        "url",
        "mode",
        "health",
        "events_summary",
        "description",
        "created",
    )
    list_filter = ("status",)
    search_fields = ("id", "url", "description")
    change_form_template = "admin/core/webhookendpoint/change_form.html"
    fieldsets = (
        (None, {"fields": ("url", "description")}),
        ("Events", {"fields": ("all_events", "events", "other_events")}),
    )

    @admin.display(description="Status")
    def health(self, endpoint: WebhookEndpoint):
        badge, label = endpoint_health(endpoint)
        return format_html('<span class="tally-badge {}">{}</span>', badge, label)

    @admin.display(description="Mode", ordering="livemode")
    def mode(self, endpoint: WebhookEndpoint) -> str:
        """The mode whose events the endpoint receives (``core.modes``)."""
        return modes.mode_label(endpoint.livemode)

    @admin.display(description="Events")
    def events_summary(self, endpoint: WebhookEndpoint) -> str:
        events = endpoint.enabled_events
        if policy.ALL_EVENTS in events:
            return "all events"
        return events[0] if len(events) == 1 else f"{len(events)} event types"

    def save_model(self, request, obj, form, change):
        params = {
            "url": form.cleaned_data["url"],
            "description": form.cleaned_data.get("description") or None,
            "enabled_events": form.cleaned_data["enabled_events"],
        }
        if change:
            webhooks.webhook_endpoint_update(
                endpoint=obj, params=params, now=clock.now()
            )
            return
        created = webhooks.webhook_endpoint_create(params=params, now=clock.now())
        obj.pk = created.pk
        self.message_user(
            request,
            format_html(
                "Endpoint created. Its signing secret (also under “Reveal secret”): "
                "<code>{}</code>",
                created.secret,
            ),
            messages.WARNING,
        )

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(
            reverse("admin:core_webhookendpoint_change", args=[quote(obj.pk)])
        )

    def delete_model(self, request, obj):
        webhooks.webhook_endpoint_delete(endpoint=obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            webhooks.webhook_endpoint_delete(endpoint=endpoint)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        endpoint = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if endpoint is not None:
            badge, label = endpoint_health(endpoint)
            extra.update(
                health_badge=badge,
                health_label=label,
                mode_label=modes.mode_label(endpoint.livemode),
                deliveries=endpoint.deliveries.select_related("event").order_by("-id")[
                    :RECENT_DELIVERIES
                ],
                delivery_count=endpoint.deliveries.count(),
                delivery_badges=DELIVERY_BADGES,
                roll_choices=ROLL_CHOICES,
            )
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self):
        def action(name, view):
            return path(
                f"<str:object_id>/{name}/",
                self.admin_site.admin_view(self._post_only(view)),
                name=f"core_webhookendpoint_{name.replace('-', '_')}",
            )

        return [
            action("reveal-secret", self.reveal_secret_view),
            action("roll-secret", self.roll_secret_view),
            action("send-test", self.send_test_view),
            action("disable", self.disable_view),
            action("enable", self.enable_view),
            *super().get_urls(),
        ]

    def _post_only(self, view):
        def wrapped(request, object_id):
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            if not self.has_change_permission(request):
                raise PermissionDenied
            endpoint = get_object_or_404(WebhookEndpoint, pk=object_id)
            try:
                return view(request, endpoint)
            except TallyError as error:
                self.message_user(request, error.message, messages.ERROR)
                return self._back(endpoint)

        return wrapped

    def _back(self, endpoint: WebhookEndpoint):
        return HttpResponseRedirect(
            reverse("admin:core_webhookendpoint_change", args=[quote(endpoint.pk)])
        )

    def _secret_page(self, request, endpoint: WebhookEndpoint, *, rolled: bool):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": endpoint,
            "title": f"Signing secret of {endpoint.url}",
            "rolled": rolled,
            "now": clock.now(),
        }
        return TemplateResponse(
            request, "admin/core/webhookendpoint/secret.html", context
        )

    def reveal_secret_view(self, request, endpoint):
        return self._secret_page(request, endpoint, rolled=False)

    def roll_secret_view(self, request, endpoint):
        hours = request.POST.get("expires_in", "0")
        if hours not in dict(ROLL_CHOICES):
            self.message_user(request, "Choose when the old secret expires.")
            return self._back(endpoint)
        endpoint = webhooks.webhook_endpoint_roll_secret(
            endpoint=endpoint,
            keep_previous_for=timedelta(hours=int(hours)),
            now=clock.now(),
        )
        return self._secret_page(request, endpoint, rolled=True)

    def send_test_view(self, request, endpoint):
        delivery = webhooks.webhook_endpoint_send_test(
            endpoint=endpoint, now=clock.now()
        )
        self.message_user(request, f"Test event {delivery.event_id} sent.")
        return HttpResponseRedirect(
            reverse("admin:core_webhookdelivery_change", args=[quote(delivery.pk)])
        )

    def disable_view(self, request, endpoint):
        webhooks.webhook_endpoint_update(
            endpoint=endpoint, params={"disabled": True}, now=clock.now()
        )
        self.message_user(request, "Endpoint disabled; pending deliveries canceled.")
        return self._back(endpoint)

    def enable_view(self, request, endpoint):
        webhooks.webhook_endpoint_update(
            endpoint=endpoint, params={"disabled": False}, now=clock.now()
        )
        self.message_user(request, "Endpoint enabled; new events are sent to it.")
        return self._back(endpoint)

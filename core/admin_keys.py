"""Staff dashboard for API keys: create secret or restricted keys, revoke them.

A restricted key takes a preset (read-only, ingest-only) or a level per resource;
the resources are read from the URL conf (``core.api.access``), so the form
offers every one the API has.
"""

from __future__ import annotations

from functools import cache

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from core import clock
from core.api import access
from core.models import ApiKey
from core.services import api_keys

FULL, CUSTOM = "full", "custom"
ACCESS_CHOICES = [
    (FULL, "Secret key (sk_): full access"),
    ("read", "Restricted key (rk_): read-only"),
    ("ingest", "Restricted key (rk_): ingest-only — meter events"),
    (CUSTOM, "Restricted key (rk_): the permissions below"),
]
_LEVEL_CHOICES = [(level, level.capitalize()) for level in access.LEVELS]


def _field_name(resource: str) -> str:
    return "perm_" + resource.replace(".", "__")


class ApiKeyCreateForm(forms.ModelForm):
    access = forms.ChoiceField(choices=ACCESS_CHOICES, initial=FULL)

    class Meta:
        model = ApiKey
        fields = ("name", "livemode")

    def permissions(self) -> dict[str, str] | None:
        """The levels the form asks for; None for a secret key."""
        choice = self.cleaned_data["access"]
        if choice == FULL:
            return None
        if choice != CUSTOM:
            return access.PRESETS[choice]
        levels = {
            resource: self.cleaned_data.get(_field_name(resource)) or access.NONE
            for resource in access.api_resources()
        }
        return {name: level for name, level in levels.items() if level != access.NONE}


@cache
def _create_form() -> type[ApiKeyCreateForm]:
    """The create form with a level field per resource (built once the URL conf,
    which imports this module, has loaded)."""
    fields = {
        _field_name(resource): forms.ChoiceField(
            label=resource,
            choices=_LEVEL_CHOICES,
            initial=access.NONE,
            required=False,
        )
        for resource in access.api_resources()
    }
    return type("ApiKeyCreateFormWithResources", (ApiKeyCreateForm,), fields)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "redacted",
        "livemode",
        "access_display",
        "created",
        "last_used_at",
        "status",
    )
    fields = (
        "name",
        "livemode",
        "redacted",
        "access_display",
        "created",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = (
        "redacted",
        "access_display",
        "created",
        "last_used_at",
        "revoked_at",
        "livemode",
    )
    actions = ["revoke"]

    @admin.display(description="Status")
    def status(self, obj: ApiKey) -> str:
        return "active" if obj.is_active else "revoked"

    @admin.display(description="Access")
    def access_display(self, obj: ApiKey) -> str:
        summary = access.permissions_summary(obj.permissions)
        if summary != "custom":
            return summary
        return ", ".join(f"{name}: {level}" for name, level in obj.permissions.items())

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return super().get_fieldsets(request, obj)
        resources = [_field_name(name) for name in access.api_resources()]
        return [
            (None, {"fields": ("name", "livemode", "access")}),
            (
                "Permissions of a restricted key (with “the permissions below”)",
                {"fields": resources, "classes": ("collapse",)},
            ),
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = _create_form()
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        created, secret = api_keys.api_key_create(
            name=obj.name, livemode=obj.livemode, permissions=form.permissions()
        )
        obj.pk = created.pk
        obj.redacted = created.redacted
        self.message_user(
            request,
            format_html(
                "New API key — copy it now, it is not shown again: <code>{}</code>",
                secret,
            ),
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        now = clock.now()
        for api_key in queryset:
            api_keys.api_key_revoke(api_key=api_key, now=now)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

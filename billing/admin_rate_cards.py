"""Rate cards and their migrations in the dashboard (``billing.rate_card_pages``)."""

from __future__ import annotations

from django.contrib import admin

from billing import rate_card_pages
from billing.models import RateCardMigration
from catalog.models import RateCard
from core.admin_pages import PagesAdmin


@admin.register(RateCard)
class RateCardAdmin(PagesAdmin):
    list_display = ("display_name", "currency", "service_interval", "latest_version")
    search_fields = ("id", "display_name", "lookup_key")
    list_select_related = ("latest_version",)
    ordering = ("-created", "-id")
    create_page = rate_card_pages.rate_card_create
    detail_page = rate_card_pages.rate_card_detail

    def action_urls(self):
        return [("action", "action/<str:action>", rate_card_pages.rate_card_action)]


@admin.register(RateCardMigration)
class RateCardMigrationAdmin(PagesAdmin):
    list_display = (
        "id",
        "rate_card_version",
        "status",
        "subscription_count",
        "amount_current",
        "amount_proposed",
    )
    list_filter = ("status",)
    ordering = ("-created", "-id")
    detail_page = rate_card_pages.rate_card_migration_detail

    def has_add_permission(self, request) -> bool:
        return False  # started from a rate card's page (its "Migrate" form)

    def action_urls(self):
        return [
            (
                "action",
                "action/<str:action>",
                rate_card_pages.rate_card_migration_action,
            )
        ]

"""``/v2/billing/rate_card_migrations`` (Tally extension, v2 conventions).

Create makes the dry-run report (nothing moves); ``confirm`` moves the chosen
subscriptions to the target version from their next period start; the report's
rows, one per subscription, are listed under ``/subscriptions``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.models import RateCardMigration, RateCardMigrationSubscription
from billing.selectors import rate_card_migration_rows
from billing.services.rate_card_migrations import (
    MAX_SUBSCRIPTIONS,
    rate_card_migration_confirm,
    rate_card_migration_create,
)
from core import clock
from core.api.base import get_or_404
from core.api.fields import MetadataField
from core.api.v2 import V2View, rfc3339, v2_list
from core.errors import InvalidRequest

ANY = {200: OpenApiTypes.OBJECT}
ROWS_LIMIT = 100


class MigrationCreateParams(serializers.Serializer):
    rate_card_version = serializers.CharField(max_length=64)
    subscriptions = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=MAX_SUBSCRIPTIONS,
    )
    rate_card = serializers.CharField(max_length=64, required=False)
    metadata = MetadataField()


def migration(row: RateCardMigration) -> dict[str, Any]:
    return {
        "id": row.pk,
        "object": "v2.billing.rate_card_migration",
        "created": rfc3339(row.created),
        "confirmed_at": rfc3339(row.confirmed_at),
        "currency": row.currency,
        "livemode": row.livemode,
        "metadata": dict(row.metadata),
        "rate_card_version": row.rate_card_version_id,
        "status": row.status,
        "summary": {
            "subscriptions": row.subscription_count,
            "amount_current": row.amount_current,
            "amount_proposed": row.amount_proposed,
            "amount_difference": row.amount_proposed - row.amount_current,
        },
    }


def report_row(row: RateCardMigrationSubscription) -> dict[str, Any]:
    return {
        "object": "v2.billing.rate_card_migration_subscription",
        "subscription": row.subscription_id,
        "customer": row.customer_id,
        "from_version": row.from_version_id,
        "period_start": rfc3339(row.period_start),
        "period_end": rfc3339(row.period_end),
        "amount_current": row.amount_current,
        "amount_proposed": row.amount_proposed,
        "amount_difference": row.amount_proposed - row.amount_current,
        "effective_at": rfc3339(row.effective_at),
    }


def _migration(migration_id: str) -> RateCardMigration:
    return get_or_404(
        RateCardMigration.objects.all(), migration_id, "rate_card_migration"
    )


class MigrationListView(V2View):
    @extend_schema(operation_id="ListV2RateCardMigrations", responses=ANY)
    def get(self, request):
        rows = RateCardMigration.objects.all()
        return Response(v2_list(request, rows, migration))

    @extend_schema(
        operation_id="CreateV2RateCardMigration",
        request=MigrationCreateParams,
        responses=ANY,
    )
    def post(self, request):
        params = self.parse_body(request, MigrationCreateParams)
        made = rate_card_migration_create(params=params, now=clock.now())
        return Response(migration(made))


class MigrationDetailView(V2View):
    @extend_schema(operation_id="RetrieveV2RateCardMigration", responses=ANY)
    def get(self, request, migration_id: str):
        return Response(migration(_migration(migration_id)))


class MigrationConfirmView(V2View):
    @extend_schema(
        operation_id="ConfirmV2RateCardMigration", request=None, responses=ANY
    )
    def post(self, request, migration_id: str):
        done = rate_card_migration_confirm(
            migration=_migration(migration_id), now=clock.now()
        )
        return Response(migration(done))


class MigrationSubscriptionsView(V2View):
    @extend_schema(operation_id="ListV2RateCardMigrationSubscriptions", responses=ANY)
    def get(self, request, migration_id: str):
        found = _migration(migration_id)
        try:
            offset = int(request.query_params.get("page") or 0)
        except ValueError:
            offset = -1
        if offset < 0:
            raise InvalidRequest("Invalid page token.", param="page")
        rows = rate_card_migration_rows(
            migration=found, offset=offset, limit=ROWS_LIMIT + 1
        )
        following = None
        if len(rows) > ROWS_LIMIT:
            following = f"{request.path}?page={offset + ROWS_LIMIT}"
        return Response(
            {
                "data": [report_row(row) for row in rows[:ROWS_LIMIT]],
                "next_page_url": following,
                "previous_page_url": None,
            }
        )

"""``/v1/billing/commitments``: parse, one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from billing.api.commitment_serializers import CommitmentSerializer
from billing.api.params import commitments as p
from billing.commitment_status import commitment_list
from billing.models import Commitment
from billing.services import commitments
from core import clock
from core.api.base import StripeView, get_or_404
from core.api.fields import ApiParams


def _commitment(commitment_id: str) -> Commitment:
    return get_or_404(
        Commitment.objects.select_related("customer", "credit_grant"),
        commitment_id,
        "billing.commitment",
    )


class CommitmentListView(StripeView):
    @extend_schema(
        operation_id="ListCommitments",
        parameters=[p.CommitmentListParams],
        responses=CommitmentSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, p.CommitmentListParams)
        rows = commitment_list(filters=params).select_related("customer")
        return self.render_list(request, rows, params, object_name="billing.commitment")

    @extend_schema(
        operation_id="CreateCommitment",
        request=p.CommitmentCreateParams,
        responses=CommitmentSerializer,
    )
    def post(self, request):
        params = self.parse(request, p.CommitmentCreateParams)
        commitment = commitments.commitment_create(params=params, now=clock.now())
        return self.render(commitment, params)


class CommitmentDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveCommitment",
        parameters=[ApiParams],
        responses=CommitmentSerializer,
    )
    def get(self, request, commitment_id):
        params = self.parse(request, ApiParams)
        return self.render(_commitment(commitment_id), params)


class CommitmentVoidView(StripeView):
    @extend_schema(
        operation_id="VoidCommitment",
        request=ApiParams,
        responses=CommitmentSerializer,
    )
    def post(self, request, commitment_id):
        params = self.parse(request, ApiParams)
        commitment = commitments.commitment_void(
            commitment=_commitment(commitment_id), now=clock.now()
        )
        return self.render(commitment, params)

"""Pages outside the API: the processor's webhook receiver."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import clock
from core.errors import TallyError
from payments.services.processor_events import stripe_event_receive


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's events for live-mode charges (signed with the signing secret)."""
    try:
        event = stripe_event_receive(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature"),
            now=clock.now(),
        )
    except TallyError as error:
        return JsonResponse({"error": error.as_dict()}, status=error.http_status)
    return JsonResponse({"received": True, "id": event.event_id})

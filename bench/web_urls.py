"""The app's URLs plus the benchmarks' reference view (``bench.web_settings``).

``GET /v1/bench/empty``: an authenticated DRF view that answers an empty object.
It takes Django's whole API path (every middleware, the API key, DRF's view
machinery and renderer) and does no work of its own: what any v1 request costs
before its endpoint does anything. The v1 ingestion (#19) and check endpoint
(#14) benchmarks measure against it behind the same gunicorn.
"""

from django.urls import path
from rest_framework.response import Response

from bench.paced import EMPTY_VIEW_PATH
from config import urls
from core.api.base import StripeView


class EmptyView(StripeView):
    def get(self, request):
        return Response({})


urlpatterns = [
    path(EMPTY_VIEW_PATH.lstrip("/"), EmptyView.as_view()),
    *urls.urlpatterns,
]

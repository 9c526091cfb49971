"""DRF glue for the API key that ApiKeyMiddleware already checked."""

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        api_key = getattr(request._request, "api_key", None)
        return (None, api_key) if api_key is not None else None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="Tally"'


class HasApiKey(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.auth is not None

"""API requests skip the browser's middleware and the browser's URL patterns.

``core.api.passthrough``: a key-authenticated ``/v1`` or ``/v2`` request gets no
session, user or messages (it needs none), even with a staff session cookie; the
dashboard still gets all three. ``config.urls``: the API's routes come first, and
no other route answers a path under the API prefixes, so the order changes no
route's answer.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, resolve

from config import urls
from core.api.base import unknown_route
from metering.api.views import MeterEventCreateView

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(
        "passthrough", "passthrough@example.com", "a long enough password"
    )
    client = Client()
    client.force_login(user)
    return client


def test_an_api_request_gets_no_session_user_or_messages(staff_client, secret_key):
    response = staff_client.post(
        "/v1/customers", {"name": "Ada"}, HTTP_AUTHORIZATION=f"Bearer {secret_key}"
    )
    assert response.status_code == 200, response.content
    request = response.wsgi_request
    # (DRF sets ``request.user`` itself: the key's anonymous user, not the session's.)
    for attribute in ("session", "_messages"):
        assert not hasattr(request, attribute), attribute
    assert not getattr(request.user, "is_staff", False)
    assert "sessionid" not in response.cookies
    assert response["X-Frame-Options"] == "DENY"  # the security headers still


def test_the_session_cookie_does_not_authenticate_the_api(staff_client):
    response = staff_client.get("/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_the_dashboard_still_gets_session_user_and_messages(staff_client):
    response = staff_client.get("/admin/")
    assert response.status_code == 200
    request = response.wsgi_request
    assert request.user.is_staff
    assert request.session.session_key
    assert hasattr(request, "_messages")


def _routes(entry, prefix: str = "") -> list[str]:
    route = prefix + str(entry.pattern).lstrip("^")
    if isinstance(entry, URLResolver):
        return [
            found for child in entry.url_patterns for found in _routes(child, route)
        ]
    assert isinstance(entry, URLPattern)
    return [route]


def test_the_api_routes_come_first_and_no_other_route_is_under_its_prefixes():
    catch_all = next(
        index
        for index, entry in enumerate(urls.urlpatterns)
        if getattr(entry, "callback", None)
        and getattr(entry.callback, "__wrapped__", entry.callback) is unknown_route
    )
    api = [r for entry in urls.urlpatterns[:catch_all] for r in _routes(entry)]
    rest = [r for entry in urls.urlpatterns[catch_all + 1 :] for r in _routes(entry)]
    assert api
    assert all(route.startswith(("v1/", "v2/")) for route in api)
    assert not [route for route in rest if route.startswith("v")]
    assert resolve("/v1/billing/meter_events").func.view_class is MeterEventCreateView
    assert resolve("/v1/nothing/here").func.__wrapped__ is unknown_route
    assert resolve("/admin/").url_name == "index"

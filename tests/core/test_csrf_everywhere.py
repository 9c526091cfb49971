"""CSRF on every staff form, none needed on the API.

Every dashboard URL (read from the admin site's URL conf, the app's own pages
included) refuses a logged-in staff user's POST without the CSRF token. The API
takes keys, not cookies: no token needed, even with a staff session cookie.
(Customer pages are not staff forms: their link's secret is in every URL, which a
forged request cannot know; ``payments.portal`` says why its forms are exempt.)
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver

pytestmark = pytest.mark.django_db


def _paths(patterns, prefix: str) -> list[str]:
    """Each route under ``prefix`` with its parameters filled by a dummy id."""
    found = []
    for entry in patterns:
        route = str(entry.pattern)
        for marker in ("^", "$", "\\Z"):
            route = route.replace(marker, "")
        if isinstance(entry, URLResolver):
            found += _paths(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            path = prefix + route
            while "<" in path:
                start, end = path.index("<"), path.index(">")
                path = path[:start] + "x1" + path[end + 1 :]
            if "(?P" not in path:  # the admin's catch-all regexes
                found.append(path)
    return sorted(set(found))


@pytest.fixture
def staff_client(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(
        "csrf-staff", "csrf@example.com", "a long enough password"
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_every_dashboard_post_needs_the_csrf_token(staff_client):
    paths = ["/admin/mode/", *_paths(admin.site.get_urls(), "/admin/")]
    assert len(paths) > 100, len(paths)
    unprotected = []
    for path in paths:
        response = staff_client.post(path, {"name": "x"})
        if response.status_code != 403 or b"CSRF" not in response.content:
            unprotected.append((path, response.status_code))
    assert unprotected == []


def test_the_api_needs_no_csrf_token_even_with_a_session_cookie(
    staff_client, secret_key
):
    response = staff_client.post(
        "/v1/customers",
        {"name": "Ada"},
        HTTP_AUTHORIZATION=f"Bearer {secret_key}",
    )
    assert response.status_code == 200, response.content

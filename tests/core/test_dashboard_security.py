"""The staff dashboard: permissions decide what staff may do; logins are throttled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from core.models import TestClock
from tests.core.factories import TestClockFactory

pytestmark = pytest.mark.django_db


def _staff_client(django_user_model, *permissions: str) -> Client:
    user = django_user_model.objects.create_user(
        username="clerk", password="a long enough password", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("permissions", [(), ("view_testclock",)])
def test_a_staff_user_without_change_permission_cannot_advance_a_clock(
    django_user_model, permissions
):
    test_clock = TestClockFactory()
    client = _staff_client(django_user_model, *permissions)
    url = reverse("admin:core_testclock_advance", args=[test_clock.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"frozen_time": "2026-06-01 00:00"})
    assert response.status_code == 403
    test_clock.refresh_from_db()
    assert test_clock.status == TestClock.Status.READY
    assert test_clock.advancing_to is None


def test_the_change_permission_lets_staff_advance_a_clock(
    django_user_model, django_capture_on_commit_callbacks
):
    test_clock = TestClockFactory()
    client = _staff_client(django_user_model, "view_testclock", "change_testclock")
    url = reverse("admin:core_testclock_advance", args=[test_clock.pk])
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"frozen_time": "2026-06-01 00:00"})
    assert response.status_code == 302
    test_clock.refresh_from_db()
    assert test_clock.frozen_time == datetime(2026, 6, 1, tzinfo=UTC)


# ---- login throttling (django-axes) ---------------------------------------------

PASSWORD = "a long enough password"


def _login(client: Client, password: str, **headers):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "staff", "password": password},
        **headers,
    )


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        username="staff", password=PASSWORD, is_staff=True
    )


def test_five_failed_logins_lock_the_login_out_for_the_cool_off(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200  # the form, with an error
    locked = _login(client, "wrong")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    # Locked out: even the right password is refused, without being checked.
    assert _login(client, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # A spoofed X-Forwarded-For is no new address (no trusted proxy configured).
    spoofed = _login(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert spoofed.status_code == 429


def test_the_lockout_ends_after_the_cool_off(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 429
    later = datetime.now(UTC) + settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        response = _login(client, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_another_address_or_a_success_in_time_is_not_locked_out(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 302  # a success resets the count
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "wrong").status_code == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert _login(elsewhere, PASSWORD).status_code == 302

"""The staff dashboard: what a staff user may do is what their permissions say."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
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

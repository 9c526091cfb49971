"""Management commands: API keys, staff login, demo data."""

from io import StringIO

from django.core.management import call_command
from django.test import Client

from core.models import Customer


def test_create_api_key_prints_the_secret_last(db):
    out = StringIO()
    call_command("create_api_key", "--name", "ci", stdout=out, stderr=StringIO())
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("sk_test_")
    response = Client().get("/v1/customers", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200


def test_ensure_staff_user_prints_a_working_login(db):
    out = StringIO()
    call_command("ensure_staff_user", stdout=out)
    username, password = out.getvalue().strip().split(": ", 1)[1].split(" / ")
    client = Client()
    assert client.login(username=username, password=password)
    assert client.get("/admin/").status_code == 200


def test_load_demo_is_idempotent(db):
    call_command("load_demo", stdout=StringIO())
    count = Customer.objects.count()
    call_command("load_demo", stdout=StringIO())
    assert Customer.objects.count() == count >= 2

"""Management commands: API keys, staff login, demo data."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
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


def test_customer_page_link_opens_the_customers_page(db):
    Customer.objects.create(
        name="Northwind", email="billing@northwind.example", invoice_prefix="NW"
    )
    out = StringIO()
    call_command(
        "customer_page_link",
        "billing@northwind.example",
        "--base-url",
        "http://testserver",
        stdout=out,
        stderr=StringIO(),
    )
    url = out.getvalue().strip().splitlines()[-1]
    assert url.startswith("http://testserver/customer/cps_")
    response = Client().get(url.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert "Northwind" in response.content.decode()


def test_customer_page_link_refuses_an_unknown_customer(db):
    with pytest.raises(CommandError, match="No customer"):
        call_command("customer_page_link", "nobody@example.com", stderr=StringIO())

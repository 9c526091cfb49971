"""Dashboard pages open for every id, even ids the admin's URL quoting would mangle.

The admin writes "_" as "_5F" in its URLs and turns any "_XX" hex pair back into a
character, so an id such as ``cus_1Fab`` only survives when every link quotes it and
every page unquotes it. Random ids start with a hex pair about one time in fifteen.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth.models import Permission
from django.urls import resolve, reverse

from tests.catalog.factories import MeterFactory, PriceFactory, ProductFactory
from tests.core.factories import CustomerFactory, TestClockFactory

pytestmark = pytest.mark.django_db

# Ids whose random part begins with what the admin reads as an escaped character.
TRICKY = "1F2A_5Fxyz"


def _objects():
    product = ProductFactory(id=f"prod_{TRICKY}", name="Tricky product")
    return {
        "core_customer": CustomerFactory(id=f"cus_{TRICKY}"),
        "core_testclock": TestClockFactory(id=f"clock_{TRICKY}"),
        "catalog_product": product,
        "catalog_price": PriceFactory(id=f"price_{TRICKY}", product=product),
        "metering_meter": MeterFactory(id=f"mtr_{TRICKY}"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "core_customer",
        "core_testclock",
        "catalog_product",
        "catalog_price",
        "metering_meter",
    ],
)
def test_change_page_opens_for_an_id_that_looks_escaped(admin_client, name):
    obj = _objects()[name]
    response = admin_client.get(reverse(f"admin:{name}_change", args=[quote(obj.pk)]))
    assert response.status_code == 200
    assert obj.pk in response.content.decode()


@pytest.mark.parametrize(
    "name", ["core_customer", "catalog_product", "catalog_price", "metering_meter"]
)
def test_changelist_links_lead_to_the_object(admin_client, name):
    obj = _objects()[name]
    listing = admin_client.get(reverse(f"admin:{name}_changelist")).content.decode()
    link = f"/{quote(obj.pk)}/change/"
    hrefs = [href for href in re.findall(r'href="([^"]+)"', listing) if link in href]
    assert hrefs, f"no link to {obj.pk} on the {name} list"
    response = admin_client.get(hrefs[0].replace("&amp;", "&"))
    assert response.status_code == 200
    assert obj.pk in response.content.decode()


@pytest.mark.parametrize("name", ["catalog_product", "catalog_price", "metering_meter"])
def test_every_button_of_a_detail_page_posts_to_its_object(admin_client, name):
    obj = _objects()[name]
    page = admin_client.get(reverse(f"admin:{name}_change", args=[quote(obj.pk)]))
    actions = re.findall(r'<form method="post" action="([^"]+)"', page.content.decode())
    assert actions, f"no buttons on the {name} page"
    for action in actions:
        match = resolve(action.replace("&amp;", "&"))
        assert unquote(match.kwargs["object_id"]) == obj.pk, action


def test_a_button_acts_on_an_id_that_looks_escaped(admin_client):
    meter = MeterFactory(id=f"mtr_{TRICKY}")
    response = admin_client.post(
        reverse("admin:metering_meter_deactivate", args=[quote(meter.pk)])
    )
    assert response.status_code == 302
    meter.refresh_from_db()
    assert meter.status == "inactive"


def test_buttons_take_posts_from_those_who_may_change_only(client, django_user_model):
    meter = MeterFactory(id=f"mtr_{TRICKY}")
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_meter"))
    client.force_login(viewer)
    change = reverse("admin:metering_meter_change", args=[quote(meter.pk)])
    deactivate = reverse("admin:metering_meter_deactivate", args=[quote(meter.pk)])
    assert client.get(change).status_code == 200
    assert client.post(deactivate).status_code == 403
    # A detail page without a form of its own takes no POST at all.
    assert client.post(change).status_code == 403
    meter.refresh_from_db()
    assert meter.status == "active"


def test_buttons_answer_get_with_405(admin_client):
    meter = MeterFactory(id=f"mtr_{TRICKY}")
    deactivate = reverse("admin:metering_meter_deactivate", args=[quote(meter.pk)])
    assert admin_client.get(deactivate).status_code == 405

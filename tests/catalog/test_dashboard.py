"""Dashboard pages of the catalog through Django's test client."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from catalog.models import Price, Product
from core.models import Event
from tests.catalog.factories import (
    MeterFactory,
    PriceFactory,
    ProductFactory,
    tiered_price,
)

ADD_PRODUCT = "/admin/catalog/product/add/"
ADD_PRICE = "/admin/catalog/price/add/"


def _text(response) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style|template)\b.*?</\1>", " ", html, flags=re.S)
    text = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))
    return re.sub(r" ([.,])", r"\1", text)


def _price_data(**fields) -> dict:
    """POST data of the price editor (prefix ``price``) with two tier rows."""
    data = {
        "price-pricing_model": "flat_rate",
        "price-currency": "usd",
        "price-amount": "",
        "price-package_round": "up",
        "price-billing_period": "month",
        "price-interval_count": "1",
        "price-usage_type": "licensed",
        "price-tiers-TOTAL_FORMS": "2",
        "price-tiers-INITIAL_FORMS": "0",
        "price-tiers-MIN_NUM_FORMS": "1",
        "price-tiers-MAX_NUM_FORMS": "250",
    }
    data.update({f"price-{key}": value for key, value in fields.items()})
    return data


def _tiers(*rows: tuple[str, str, str]) -> dict:
    fields = {"tiers-TOTAL_FORMS": str(len(rows))}
    for index, (up_to, unit, flat) in enumerate(rows):
        fields[f"tiers-{index}-up_to"] = up_to
        fields[f"tiers-{index}-unit_amount"] = unit
        fields[f"tiers-{index}-flat_amount"] = flat
    return fields


def test_create_product_with_a_flat_price(admin_client):
    page = admin_client.get(ADD_PRODUCT)
    assert page.status_code == 200
    assert "Choose your pricing model" in _text(page)
    response = admin_client.post(
        ADD_PRODUCT,
        {
            "name": "Hypernian",
            "description": "LLM",
            "unit_label": "token",
            **_price_data(amount="200", nickname="Monthly fee"),
        },
    )
    product = Product.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:catalog_product_change", args=[quote(product.pk)]
    )
    price = Price.objects.get()
    assert (product.name, product.description, product.unit_label) == (
        "Hypernian",
        "LLM",
        "token",
    )
    assert product.default_price_id == price.pk
    assert price.unit_amount_decimal == Decimal(20000)
    assert (price.type, price.recurring_interval, price.recurring_usage_type) == (
        "recurring",
        "month",
        "licensed",
    )
    assert price.nickname == "Monthly fee"
    assert sorted(Event.objects.values_list("type", flat=True)) == [
        "price.created",
        "product.created",
    ]


def test_add_another_price_goes_to_the_add_price_page(admin_client):
    response = admin_client.post(
        ADD_PRODUCT,
        {"name": "Hypernian", "_addprice": "1", **_price_data(amount="200")},
    )
    product = Product.objects.get()
    assert response["Location"] == f"{ADD_PRICE}?product={product.pk}"
    page = admin_client.get(response["Location"])
    assert "Add a price to Hypernian" in _text(page)


@pytest.mark.parametrize(
    ("fields", "currency", "expected"),
    [
        ({"amount": "0.001"}, "usd", Decimal("0.1")),
        ({"amount": "1,250.50"}, "usd", Decimal(125050)),
        ({"amount": "500"}, "jpy", Decimal(500)),
        ({"amount": "1.234"}, "kwd", Decimal(1234)),
        ({"amount": "0.00000000000001"}, "usd", Decimal("0.000000000001")),
    ],
)
def test_amounts_in_major_units_become_exact_minor_units(
    admin_client, fields, currency, expected
):
    product = ProductFactory()
    response = admin_client.post(
        f"{ADD_PRICE}?product={product.pk}",
        _price_data(pricing_model="per_unit", currency=currency, **fields),
    )
    assert response.status_code == 302, _text(response)
    assert Price.objects.get().unit_amount_decimal == expected


def test_too_many_decimal_places_is_shown_on_the_field(admin_client):
    product = ProductFactory()
    response = admin_client.post(
        f"{ADD_PRICE}?product={product.pk}",
        _price_data(pricing_model="per_unit", amount="0.000000000000001"),
    )
    assert response.status_code == 200
    assert "At most 14 decimal places in USD." in _text(response)
    assert not Price.objects.exists()


def test_graduated_metered_price_with_tiers(admin_client, meter):
    product = ProductFactory(name="Hypernian")
    response = admin_client.post(
        f"{ADD_PRICE}?product={product.pk}",
        _price_data(
            pricing_model="graduated",
            usage_type="metered",
            meter=meter.pk,
            **_tiers(("100000", "0", "0"), ("", "0.001", "0")),
        ),
    )
    assert response.status_code == 302, _text(response)
    price = Price.objects.get()
    assert (price.billing_scheme, price.tiers_mode, price.recurring_meter_id) == (
        "tiered",
        "graduated",
        meter.pk,
    )
    assert [
        (t.up_to, t.unit_amount_decimal, t.flat_amount_decimal)
        for t in price.tiers.all()
    ] == [(100000, Decimal(0), Decimal(0)), (None, Decimal("0.1"), Decimal(0))]


def test_package_price(admin_client):
    product = ProductFactory()
    response = admin_client.post(
        f"{ADD_PRICE}?product={product.pk}",
        _price_data(
            pricing_model="package",
            amount="10",
            package_size="60",
            package_round="up",
            billing_period="one_time",
        ),
    )
    assert response.status_code == 302, _text(response)
    price = Price.objects.get()
    assert (price.transform_quantity_divide_by, price.transform_quantity_round) == (
        60,
        "up",
    )
    assert price.type == "one_time"


def test_blank_rows_are_ignored_and_volume_tiers_saved(admin_client):
    product = ProductFactory()
    response = admin_client.post(
        f"{ADD_PRICE}?product={product.pk}",
        _price_data(
            pricing_model="volume",
            billing_period="year",
            interval_count="2",
            **_tiers(("5", "7", ""), ("", "", ""), ("10", "6.50", ""), ("", "6", "")),
        ),
    )
    assert response.status_code == 302, _text(response)
    price = Price.objects.get()
    assert [t.up_to for t in price.tiers.all()] == [5, 10, None]
    assert [t.flat_amount_decimal for t in price.tiers.all()] == [None, None, None]
    assert (price.recurring_interval, price.recurring_interval_count) == ("year", 2)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"pricing_model": "per_unit"}, "Enter the amount."),
        ({"pricing_model": "package", "amount": "5"}, "Enter how many units a package"),
        (
            {"pricing_model": "per_unit", "amount": "5", "usage_type": "metered"},
            "Choose the meter that counts the usage.",
        ),
        (
            {"pricing_model": "flat_rate", "amount": "5", "usage_type": "metered"},
            "A flat rate is licensed",
        ),
        (
            {
                "pricing_model": "per_unit",
                "amount": "5",
                "usage_type": "metered",
                "billing_period": "one_time",
            },
            "Metered prices need a recurring billing",
        ),
        ({"pricing_model": "per_unit", "amount": "abc"}, "Enter an amount such as"),
        (
            {"pricing_model": "per_unit", "amount": "5", "interval_count": "37"},
            "A billing period may be at most three years",
        ),
        (
            {
                "pricing_model": "graduated",
                **_tiers(("100", "1", ""), ("200", "1", "")),
            },
            "Leave the last tier's last unit empty (∞).",
        ),
        (
            {"pricing_model": "graduated", **_tiers(("100", "1", ""), ("", "", ""))},
            "Leave the last tier's last unit empty (∞).",
        ),
        (
            {"pricing_model": "volume", **_tiers(("", "1", ""), ("", "2", ""))},
            "Enter the last unit; only the last tier is ∞.",
        ),
        (
            {
                "pricing_model": "volume",
                **_tiers(("200", "1", ""), ("100", "1", ""), ("", "1", "")),
            },
            "Must be above the tier before (200).",
        ),
        (
            {"pricing_model": "graduated", **_tiers(("100", "", ""), ("", "1", ""))},
            "Enter a per-unit amount, a flat fee, or both.",
        ),
        (
            {"pricing_model": "graduated", **_tiers(("", "", ""), ("", "", ""))},
            "Add at least one tier.",
        ),
    ],
)
def test_errors_are_shown_inline(admin_client, fields, message):
    product = ProductFactory()
    response = admin_client.post(
        f"{ADD_PRICE}?product={product.pk}", _price_data(**fields)
    )
    assert response.status_code == 200
    text = _text(response)
    assert message in text
    assert "Please correct the errors below." in text
    assert not Price.objects.exists()


def test_inactive_meter_cannot_be_chosen(admin_client):
    inactive = MeterFactory(status="inactive")
    product = ProductFactory()
    response = admin_client.post(
        f"{ADD_PRICE}?product={product.pk}",
        _price_data(
            pricing_model="per_unit",
            amount="1",
            usage_type="metered",
            meter=inactive.pk,
        ),
    )
    assert "Select a valid choice" in _text(response)
    assert not Price.objects.exists()


def test_lookup_key_conflict_is_shown_on_the_field(admin_client):
    PriceFactory(lookup_key="pro")
    product = ProductFactory()
    response = admin_client.post(
        f"{ADD_PRICE}?product={product.pk}",
        _price_data(amount="5", lookup_key="pro"),
    )
    assert "already uses the lookup key" in _text(response)
    assert Price.objects.count() == 1


def test_add_price_without_product_asks_for_one(admin_client):
    ProductFactory(name="Hypernian")
    page = admin_client.get(ADD_PRICE)
    assert "Which product is the price for?" in _text(page)
    assert "Hypernian" in _text(page)


def test_catalog_list_summarises_prices_filters_and_searches(admin_client, meter):
    pro = ProductFactory(name="Hypernian Pro")
    PriceFactory(product=pro, unit_amount_decimal=Decimal(20000))
    tiered_price(
        mode="graduated",
        tiers=[(100000, "0", "0"), (None, "0.1", "0")],
        product=pro,
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    tokens = ProductFactory(name="Hypernian input tokens")
    PriceFactory(product=tokens, unit_amount_decimal=Decimal(3), metered=True)
    old = ProductFactory(name="Legacy plan", active=False)

    page = admin_client.get("/admin/catalog/product/")
    text = _text(page)
    assert "Product catalog" in text
    assert "Create product" in text
    assert "$200.00 / month" in text
    assert "Graduated, 2 tiers / month · metered" in text
    assert "$0.03 per unit / month · metered" in text
    assert "Legacy plan" in text
    active = _text(admin_client.get("/admin/catalog/product/?status=active"))
    assert "Hypernian Pro" in active
    assert "Legacy plan" not in active
    archived = _text(admin_client.get("/admin/catalog/product/?status=archived"))
    assert "Legacy plan" in archived
    assert "Hypernian Pro" not in archived
    found = _text(admin_client.get("/admin/catalog/product/?q=input"))
    assert "Hypernian input tokens" in found
    assert "Hypernian Pro" not in found
    assert old.pk in _text(admin_client.get(f"/admin/catalog/product/?q={old.pk}"))


def test_product_page_lists_prices_and_edits_details(admin_client):
    product = ProductFactory(name="Hypernian")
    flat = PriceFactory(product=product, unit_amount_decimal=Decimal(20000))
    archived = PriceFactory(product=product, active=False, nickname="Old price")
    url = reverse("admin:catalog_product_change", args=[quote(product.pk)])
    text = _text(admin_client.get(url))
    assert "$200.00 / month" in text
    assert "Old price" in text
    assert "Archived" in text
    assert "Add another price" in text
    assert flat.pk in text
    assert archived.pk in text

    response = admin_client.post(
        url, {"name": "Hypernian 2", "description": "New", "unit_label": "token"}
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.description, product.unit_label) == (
        "Hypernian 2",
        "New",
        "token",
    )
    assert Event.objects.filter(type="product.updated").count() == 1


def test_archive_and_unarchive_product(admin_client):
    product = ProductFactory()
    url = reverse("admin:catalog_product_set_active", args=[quote(product.pk)])
    assert admin_client.get(url).status_code == 405
    admin_client.post(url, {"active": "false"})
    product.refresh_from_db()
    assert product.active is False
    admin_client.post(url, {"active": "true"})
    product.refresh_from_db()
    assert product.active is True


def test_archive_price_and_default_price_rules(admin_client):
    product = ProductFactory()
    default, other = PriceFactory(product=product), PriceFactory(product=product)
    product.default_price = default
    product.save()
    archive = reverse("admin:catalog_price_set_active", args=[quote(default.pk)])
    response = admin_client.post(archive, {"active": "false"}, follow=True)
    assert "cannot be archived because it is the default price" in _text(response)
    default.refresh_from_db()
    assert default.active is True

    make_default = reverse(
        "admin:catalog_product_set_default_price", args=[quote(product.pk)]
    )
    admin_client.post(make_default, {"price": other.pk})
    product.refresh_from_db()
    assert product.default_price_id == other.pk
    admin_client.post(archive, {"active": "false"})
    default.refresh_from_db()
    assert default.active is False
    response = admin_client.post(make_default, {"price": default.pk}, follow=True)
    assert "only accepts active prices" in _text(response)
    unarchive = admin_client.post(archive, {"active": "true"}, follow=True)
    assert "Archive price" in _text(unarchive)
    default.refresh_from_db()
    assert default.active is True


def test_price_page_explains_the_price_with_a_worked_example(admin_client, meter):
    price = tiered_price(
        mode="graduated",
        tiers=[(100000, "0", "0"), (None, "0.1", "0")],
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    url = reverse("admin:catalog_price_change", args=[quote(price.pk)])
    text = _text(admin_client.get(url))
    assert "Graduated: first 100,000 units at $0.00, then $0.001 per unit" in text
    assert "At 150,000 units this price charges $50.00 per month." in text
    assert "Tier 2: 50,000 × $0.001 = $50.00" in text
    assert "100,001" in text  # the second tier's first unit
    text = _text(admin_client.get(url, {"quantity": "1100000"}))
    assert "At 1,100,000 units this price charges $1,000.00 per month." in text
    text = _text(admin_client.get(url, {"quantity": "-5"}))
    assert "Ensure this value is greater than or equal to 0." in text
    assert "At 150,000 units" in text


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (
            lambda: PriceFactory(unit_amount_decimal=Decimal(20000)),
            "At 1 unit this price charges $200.00 per month.",
        ),
        (
            lambda: PriceFactory(unit_amount_decimal=Decimal(3), metered=True),
            "At 1,000 units this price charges $30.00 per month.",
        ),
        (
            lambda: PriceFactory(
                one_time=True,
                unit_amount_decimal=Decimal(1000),
                transform_quantity_divide_by=1000,
                transform_quantity_round="up",
            ),
            "At 2,500 units this price charges $30.00.",
        ),
        (
            lambda: tiered_price(
                mode="volume",
                tiers=[(5, "700", "0"), (10, "650", "0"), (None, "600", "0")],
            ),
            "At 7 units this price charges $45.50 per month.",
        ),
        (
            lambda: PriceFactory(
                currency="jpy",
                unit_amount_decimal=Decimal(500),
                recurring_interval="week",
                recurring_interval_count=2,
            ),
            "At 1 unit this price charges ¥500 every 2 weeks.",
        ),
    ],
)
def test_worked_example_defaults(admin_client, factory, expected):
    price = factory()
    text = _text(
        admin_client.get(reverse("admin:catalog_price_change", args=[quote(price.pk)]))
    )
    assert expected in text


def test_price_page_edits_nickname_and_lookup_key(admin_client):
    holder = PriceFactory(lookup_key="pro")
    price = PriceFactory()
    url = reverse("admin:catalog_price_change", args=[quote(price.pk)])
    response = admin_client.post(url, {"nickname": "Pro", "lookup_key": "pro"})
    assert "already uses the lookup key" in _text(response)
    response = admin_client.post(
        url, {"nickname": "Pro", "lookup_key": "pro", "transfer_lookup_key": "on"}
    )
    assert response.status_code == 302
    price.refresh_from_db()
    holder.refresh_from_db()
    assert (price.nickname, price.lookup_key, holder.lookup_key) == ("Pro", "pro", None)


def test_prices_cannot_be_deleted_and_products_only_without_prices(admin_client):
    price = PriceFactory()
    assert (
        admin_client.get(
            reverse("admin:catalog_price_delete", args=[quote(price.pk)])
        ).status_code
        == 403
    )
    empty = ProductFactory()
    delete = reverse("admin:catalog_product_delete", args=[quote(empty.pk)])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Product.objects.filter(pk=empty.pk).exists()
    assert Event.objects.filter(type="product.deleted", object_id=empty.pk).exists()
    priced = reverse("admin:catalog_product_delete", args=[quote(price.product_id)])
    response = admin_client.post(priced, {"post": "yes"})
    assert "Cannot delete product" in _text(response)
    assert Product.objects.filter(pk=price.product_id).exists()


def test_pages_need_staff(client, db):
    product = ProductFactory()
    for url in (
        ADD_PRODUCT,
        ADD_PRICE,
        "/admin/catalog/product/",
        reverse("admin:catalog_product_change", args=[quote(product.pk)]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    response = client.post(
        reverse("admin:catalog_product_set_active", args=[quote(product.pk)]),
        {"active": "false"},
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.active is True


def test_home_shows_the_create_product_link(admin_client):
    text = _text(admin_client.get("/admin/"))
    assert "Create product" in text
    assert "Active products" in text

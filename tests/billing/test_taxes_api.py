"""``/v1/tax_rates``, ``/v1/customers/{id}/tax_ids`` and tax parameters on
subscriptions, items, invoices, invoice items and previews, in Stripe's shapes."""

import pytest

from core.models import Event

pytestmark = pytest.mark.django_db


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def error(response, status=400) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def create_rate(api, percentage="19", inclusive=False, **extra) -> dict:
    return ok(
        api.post(
            "/v1/tax_rates",
            {
                "display_name": "VAT",
                "percentage": percentage,
                "inclusive": inclusive,
                **extra,
            },
        )
    )


def test_tax_rate_create_retrieve_update_list(api):
    rate = create_rate(
        api,
        "8.875",
        jurisdiction="NYC",
        country="us",
        state="NY",
        tax_type="sales_tax",
        description="New York City",
        metadata={"k": "v"},
    )
    assert rate["id"].startswith("txr_")
    assert rate["object"] == "tax_rate"
    assert (rate["percentage"], rate["effective_percentage"]) == (8.875, 8.875)
    assert (rate["inclusive"], rate["active"], rate["country"]) == (False, True, "US")
    assert (rate["state"], rate["tax_type"], rate["jurisdiction"]) == (
        "NY",
        "sales_tax",
        "NYC",
    )
    assert rate["livemode"] is False
    assert rate["flat_amount"] is None
    assert ok(api.get(f"/v1/tax_rates/{rate['id']}")) == rate
    updated = ok(
        api.post(
            f"/v1/tax_rates/{rate['id']}",
            {"display_name": "Sales tax", "active": False, "metadata": {"k": ""}},
        )
    )
    assert (updated["display_name"], updated["active"], updated["metadata"]) == (
        "Sales tax",
        False,
        {},
    )
    inclusive = create_rate(api, "20", inclusive=True)
    listed = ok(api.get("/v1/tax_rates"))
    assert [row["id"] for row in listed["data"]] == [inclusive["id"], rate["id"]]
    assert [
        r["id"] for r in ok(api.get("/v1/tax_rates", {"active": True}))["data"]
    ] == [inclusive["id"]]
    assert [
        r["id"] for r in ok(api.get("/v1/tax_rates", {"inclusive": False}))["data"]
    ] == [rate["id"]]
    types = list(
        Event.objects.filter(object_id=rate["id"])
        .order_by("created", "id")
        .values_list("type", flat=True)
    )
    assert types == ["tax_rate.created", "tax_rate.updated"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"percentage": "101"}, "percentage"),
        ({"percentage": "-1"}, "percentage"),
        ({"percentage": "1.23456"}, "percentage"),
        ({"percentage": "ten"}, "percentage"),
        ({"display_name": ""}, "display_name"),
        ({"tax_type": "poll_tax"}, "tax_type"),
    ],
)
def test_tax_rate_bad_input(api, params, param):
    body = {"display_name": "VAT", "percentage": "19", "inclusive": "false", **params}
    assert error(api.post("/v1/tax_rates", body))["param"] == param


def finalized_invoice(api, customer: str, rates: list[str], amount=1000) -> dict:
    invoice = ok(
        api.post(
            "/v1/invoices",
            {"customer": customer, "currency": "usd", "default_tax_rates": rates},
        )
    )
    ok(
        api.post(
            "/v1/invoiceitems",
            {
                "customer": customer,
                "invoice": invoice["id"],
                "amount": amount,
                "currency": "usd",
            },
        )
    )
    return ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))


def test_editing_a_used_rate_is_refused(api):
    rate = create_rate(api)
    assert (
        ok(api.post(f"/v1/tax_rates/{rate['id']}", {"percentage": "20"}))["percentage"]
        == 20
    )
    customer = ok(api.post("/v1/customers", {"name": "Jenny"}))["id"]
    finalized_invoice(api, customer, [rate["id"]])
    refused = error(api.post(f"/v1/tax_rates/{rate['id']}", {"percentage": "21"}))
    assert (refused["code"], refused["param"]) == ("tax_rate_in_use", "percentage")
    refused = error(api.post(f"/v1/tax_rates/{rate['id']}", {"inclusive": "true"}))
    assert refused["code"] == "tax_rate_in_use"
    assert ok(api.get(f"/v1/tax_rates/{rate['id']}"))["percentage"] == 20
    shown = ok(
        api.post(
            f"/v1/tax_rates/{rate['id']}",
            {"display_name": "MwSt", "jurisdiction": "DE", "description": ""},
        )
    )
    assert (shown["display_name"], shown["jurisdiction"], shown["description"]) == (
        "MwSt",
        "DE",
        None,
    )


def test_invoice_shapes_with_taxes(api):
    vat = create_rate(api, "19")
    incl = create_rate(api, "10", inclusive=True)
    customer = ok(api.post("/v1/customers", {"name": "Jenny", "tax_exempt": "none"}))
    ok(
        api.post(
            f"/v1/customers/{customer['id']}/tax_ids",
            {"type": "eu_vat", "value": "DE136695976"},
        )
    )
    invoice = ok(
        api.post(
            "/v1/invoices",
            {
                "customer": customer["id"],
                "currency": "usd",
                "default_tax_rates": [vat["id"]],
            },
        )
    )
    assert [r["id"] for r in invoice["default_tax_rates"]] == [vat["id"]]
    item = ok(
        api.post(
            "/v1/invoiceitems",
            {
                "customer": customer["id"],
                "invoice": invoice["id"],
                "amount": 1100,
                "currency": "usd",
                "tax_rates": [incl["id"]],
            },
        )
    )
    assert [r["id"] for r in item["tax_rates"]] == [incl["id"]]
    ok(
        api.post(
            "/v1/invoiceitems",
            {
                "customer": customer["id"],
                "invoice": invoice["id"],
                "amount": 1000,
                "currency": "usd",
            },
        )
    )
    done = ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    assert done["customer_tax_ids"] == [{"type": "eu_vat", "value": "DE136695976"}]
    assert done["customer_tax_exempt"] == "none"
    # 11.00 incl. 10% (1.00 of it tax) and 10.00 + 19%.
    assert (done["subtotal"], done["total"]) == (2100, 2290)
    assert (done["subtotal_excluding_tax"], done["total_excluding_tax"]) == (
        2000,
        2000,
    )
    assert done["total_taxes"] == [
        {
            "amount": 100,
            "tax_behavior": "inclusive",
            "tax_rate_details": {"tax_rate": incl["id"]},
            "taxability_reason": "not_available",
            "taxable_amount": 1000,
            "type": "tax_rate_details",
        },
        {
            "amount": 190,
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": vat["id"]},
            "taxability_reason": "not_available",
            "taxable_amount": 1000,
            "type": "tax_rate_details",
        },
    ]
    lines = done["lines"]["data"]
    assert sorted(e["amount"] for line in lines for e in line["taxes"]) == [100, 190]


def test_subscription_tax_parameters(api):
    vat, reduced, other = (
        create_rate(api, "19"),
        create_rate(api, "7"),
        create_rate(api),
    )
    customer = ok(api.post("/v1/customers", {"name": "Jenny"}))["id"]
    product = ok(api.post("/v1/products", {"name": "Pro"}))["id"]
    price = ok(
        api.post(
            "/v1/prices",
            {
                "product": product,
                "currency": "usd",
                "unit_amount": 1000,
                "recurring": {"interval": "month"},
            },
        )
    )["id"]
    sub = ok(
        api.post(
            "/v1/subscriptions",
            {
                "customer": customer,
                "items": [{"price": price, "tax_rates": [reduced["id"]]}],
                "default_tax_rates": [vat["id"]],
            },
        )
    )
    assert [r["id"] for r in sub["default_tax_rates"]] == [vat["id"]]
    (item,) = sub["items"]["data"]
    assert [r["id"] for r in item["tax_rates"]] == [reduced["id"]]
    invoice = ok(api.get(f"/v1/invoices/{sub['latest_invoice']}"))
    assert invoice["total"] == 1070
    assert [r["id"] for r in invoice["default_tax_rates"]] == [vat["id"]]
    sub = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            {
                "default_tax_rates": [other["id"]],
                "items": [{"id": item["id"], "tax_rates": ""}],
            },
        )
    )
    assert [r["id"] for r in sub["default_tax_rates"]] == [other["id"]]
    assert sub["items"]["data"][0]["tax_rates"] == []
    item = ok(
        api.post(f"/v1/subscription_items/{item['id']}", {"tax_rates": [vat["id"]]})
    )
    assert [r["id"] for r in item["tax_rates"]] == [vat["id"]]
    preview = ok(
        api.post(
            "/v1/invoices/create_preview",
            {
                "subscription": sub["id"],
                "subscription_details": {"default_tax_rates": [reduced["id"]]},
            },
        )
    )
    assert [r["id"] for r in preview["default_tax_rates"]] == [reduced["id"]]
    missing = error(
        api.post(f"/v1/subscriptions/{sub['id']}", {"default_tax_rates": ["txr_no"]}),
        404,
    )
    assert missing["param"] == "default_tax_rates[0]"


def test_customer_tax_ids(api):
    customer = ok(api.post("/v1/customers", {"name": "Jenny", "tax_exempt": "reverse"}))
    assert customer["tax_exempt"] == "reverse"
    base = f"/v1/customers/{customer['id']}/tax_ids"
    created = ok(api.post(base, {"type": "eu_vat", "value": "FR40303265045"}))
    assert created["id"].startswith("txi_")
    assert (created["object"], created["type"], created["value"]) == (
        "tax_id",
        "eu_vat",
        "FR40303265045",
    )
    assert (created["country"], created["customer"]) == ("FR", customer["id"])
    assert created["verification"] == {
        "status": "unavailable",
        "verified_address": None,
        "verified_name": None,
    }
    assert created["owner"]["type"] == "customer"
    gb = ok(api.post(base, {"type": "gb_vat", "value": "GB980780684"}))
    us = ok(api.post(base, {"type": "us_ein", "value": "12-3456789"}))
    assert ok(api.get(f"{base}/{gb['id']}")) == gb
    assert [row["id"] for row in ok(api.get(base))["data"]] == [
        us["id"],
        gb["id"],
        created["id"],
    ]
    gone = ok(api.delete(f"{base}/{gb['id']}"))
    assert gone == {"id": gb["id"], "object": "tax_id", "deleted": True}
    error(api.get(f"{base}/{gb['id']}"), 404)
    types = set(
        Event.objects.filter(type__startswith="customer.tax_id.").values_list(
            "type", flat=True
        )
    )
    assert types == {"customer.tax_id.created", "customer.tax_id.deleted"}


@pytest.mark.parametrize(
    ("tax_type", "value"),
    [
        ("eu_vat", "DE136695977"),  # check digit off by one
        ("eu_vat", "136695976"),  # no country prefix
        ("eu_vat", "XX136695976"),
        ("gb_vat", "GB980780685"),
        ("us_ein", "12-345678"),
        ("au_abn", "51 824 753 557"),
        ("ca_gst_hst", "123456782"),  # a business number without the program
        ("no_vat", "123456789MVA"),
    ],
)
def test_invalid_tax_ids_are_refused(api, tax_type, value):
    customer = ok(api.post("/v1/customers", {"name": "Jenny"}))["id"]
    refused = error(
        api.post(
            f"/v1/customers/{customer}/tax_ids", {"type": tax_type, "value": value}
        )
    )
    assert (refused["code"], refused["param"]) == ("tax_id_invalid", "value")
    assert ok(api.get(f"/v1/customers/{customer}/tax_ids"))["data"] == []


@pytest.mark.parametrize(
    ("tax_type", "value", "country"),
    [
        ("eu_vat", "DE136695976", "DE"),
        ("eu_vat", "de 136 695 976", "DE"),
        ("eu_vat", "EL094259216", "GR"),
        ("eu_vat", "NL004495445B01", "NL"),
        ("gb_vat", "GB980780684", "GB"),
        ("au_abn", "51 824 753 556", "AU"),
        ("ch_vat", "CHE-107.787.577 MWST", "CH"),
        ("za_vat", "4123456789", "ZA"),  # a type without a checker: as given
    ],
)
def test_valid_tax_ids(api, tax_type, value, country):
    customer = ok(api.post("/v1/customers", {"name": "Jenny"}))["id"]
    created = ok(
        api.post(
            f"/v1/customers/{customer}/tax_ids", {"type": tax_type, "value": value}
        )
    )
    assert created["country"] == country


def test_unknown_tax_id_type(api):
    customer = ok(api.post("/v1/customers", {"name": "Jenny"}))["id"]
    refused = error(
        api.post(f"/v1/customers/{customer}/tax_ids", {"type": "xx_vat", "value": "1"})
    )
    assert refused["param"] == "type"


def test_a_draft_lines_tax_rates_can_change(api):
    vat, reduced = create_rate(api, "19"), create_rate(api, "7")
    customer = ok(api.post("/v1/customers", {"name": "Jenny"}))["id"]
    invoice = ok(
        api.post(
            "/v1/invoices",
            {"customer": customer, "currency": "usd", "default_tax_rates": [vat["id"]]},
        )
    )
    item = ok(
        api.post(
            "/v1/invoiceitems",
            {
                "customer": customer,
                "invoice": invoice["id"],
                "amount": 1000,
                "currency": "usd",
            },
        )
    )
    line = ok(api.get(f"/v1/invoices/{invoice['id']}/lines"))["data"][0]
    ok(
        api.post(
            f"/v1/invoices/{invoice['id']}/lines/{line['id']}",
            {"tax_rates": [reduced["id"]]},
        )
    )
    assert [
        r["id"] for r in ok(api.get(f"/v1/invoiceitems/{item['id']}"))["tax_rates"]
    ] == [reduced["id"]]
    done = ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    assert done["total"] == 1070
    refused = error(
        api.post(f"/v1/invoiceitems/{item['id']}", {"tax_rates": [vat["id"]]})
    )
    assert refused["code"] == "invoice_not_editable"


def test_preview_with_customer_details(api):
    vat = create_rate(api, "20")
    customer = ok(api.post("/v1/customers", {"name": "Jenny"}))["id"]
    product = ok(api.post("/v1/products", {"name": "Pro"}))["id"]
    price = ok(
        api.post(
            "/v1/prices",
            {
                "product": product,
                "currency": "eur",
                "unit_amount": 1000,
                "recurring": {"interval": "month"},
            },
        )
    )["id"]
    sub = ok(
        api.post(
            "/v1/subscriptions",
            {
                "customer": customer,
                "items": [{"price": price}],
                "default_tax_rates": [vat["id"]],
            },
        )
    )
    plain = ok(api.post("/v1/invoices/create_preview", {"subscription": sub["id"]}))
    assert plain["total"] == 1200
    reverse = ok(
        api.post(
            "/v1/invoices/create_preview",
            {
                "subscription": sub["id"],
                "customer_details": {
                    "tax_exempt": "reverse",
                    "tax_ids": [{"type": "eu_vat", "value": "FR40303265045"}],
                },
            },
        )
    )
    assert reverse["total"] == 1000
    assert reverse["customer_tax_exempt"] == "reverse"
    assert reverse["customer_tax_ids"] == [{"type": "eu_vat", "value": "FR40303265045"}]
    assert [e["taxability_reason"] for e in reverse["total_taxes"]] == [
        "reverse_charge"
    ]
    # Nothing of it was kept.
    assert ok(api.get(f"/v1/customers/{customer}"))["tax_exempt"] == "none"
    assert ok(api.get(f"/v1/customers/{customer}/tax_ids"))["data"] == []
    refused = error(
        api.post(
            "/v1/invoices/create_preview",
            {
                "subscription": sub["id"],
                "customer_details": {"tax_ids": [{"type": "eu_vat", "value": "FR1"}]},
            },
        )
    )
    assert refused["param"] == "customer_details[tax_ids][0][value]"

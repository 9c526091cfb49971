"""The main dashboard pages, read as a screen reader would: every form control
has a name, every page a title ending "| Tally", one h1, breadcrumbs from Home and
a favicon; a customer's page is a read-only summary with an Edit action."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.services import invoice_create_with_items, subscription_create
from tests.alerts.factories import make_alert
from tests.billing.factories import (
    CustomerFactory,
    MeterFactory,
    TestClockFactory,
    hypernian,
)
from tests.core.a11y import read
from tests.credits.factories import make_grant

pytestmark = pytest.mark.django_db
APR1 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def objects():
    clock = TestClockFactory(frozen_time=APR1, name="April")
    customer = CustomerFactory(name="Clocked Co", test_clock=clock)
    meter = MeterFactory(event_name="hypernian_api_tokens")
    flat, overage = hypernian(meter=meter)
    subscription = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    invoice = invoice_create_with_items(
        customer=customer,
        params={
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "auto_advance": False,
        },
        items=[
            {
                "unit_amount_decimal": Decimal(5000),
                "quantity": 1,
                "currency": "usd",
                "description": "Setup",
            }
        ],
        now=APR1,
    )
    return {
        "clock": clock,
        "customer": customer,
        "meter": meter,
        "product": flat.product,
        "price": overage,
        "subscription": subscription,
        "invoice": invoice,
        "grant": make_grant(customer, now=APR1),
        "alert": make_alert(meter=meter, customer=customer, now=APR1),
    }


def _pages(o) -> list[str]:
    def change(name, obj):
        return reverse(f"admin:{name}_change", args=[quote(obj.pk)])

    customer = f"?customer={o['customer'].pk}"
    return [
        reverse("admin:index"),
        reverse("admin:core_customer_changelist"),
        reverse("admin:core_customer_add"),
        change("core_customer", o["customer"]),
        change("core_customer", o["customer"]) + "?edit=1",
        reverse("admin:billing_subscription_add") + customer,
        change("billing_subscription", o["subscription"]),
        reverse("admin:billing_invoice_changelist"),
        reverse("admin:billing_invoice_add") + customer,
        change("billing_invoice", o["invoice"]),
        reverse("admin:catalog_product_add"),
        change("catalog_product", o["product"]),
        reverse("admin:catalog_price_add") + f"?product={o['product'].pk}",
        change("catalog_price", o["price"]),
        reverse("admin:metering_meter_add"),
        change("metering_meter", o["meter"]) + customer,
        reverse("admin:credits_creditgrant_add") + customer,
        change("credits_creditgrant", o["grant"]),
        reverse("admin:credits_creditbalancetransaction_changelist") + customer,
        reverse("admin:alerts_alert_add") + customer,
        change("alerts_alert", o["alert"]),
        change("core_testclock", o["clock"]),
        reverse("admin:core_testclock_advance", args=[o["clock"].pk]),
        reverse("admin:core_auditentry_changelist"),
    ]


def test_every_main_page_names_its_controls_and_says_where_it_is(admin_client, objects):
    problems = {}
    for url in _pages(objects):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        page = read(response.content.decode())
        found = {
            "unlabelled": page.unlabelled(),
            "nameless buttons": page.nameless_buttons(),
            "title": [] if page.title.endswith("| Tally") else [page.title],
            "h1": [] if len(page.h1) == 1 and page.h1[0] else page.h1 or ["none"],
            "favicon": [] if page.favicon else ["missing"],
        }
        if url != reverse("admin:index") and not page.breadcrumbs.startswith("Home ›"):
            found["breadcrumbs"] = [page.breadcrumbs]
        found = {key: value for key, value in found.items() if value}
        if found:
            problems[url] = found
    import pprint

    assert problems == {}, pprint.pformat(problems, width=120)


def test_the_customer_page_is_a_summary_with_an_edit_action(admin_client, objects):
    customer = objects["customer"]
    url = reverse("admin:core_customer_change", args=[quote(customer.pk)])
    summary = admin_client.get(url).content.decode()
    page = read(summary)
    assert page.h1 == ["Clocked Co"]
    assert page.title == "Clocked Co | Tally"
    assert page.breadcrumbs == "Home › Customers › Clocked Co"
    assert page.controls == [] or all(
        control.get("type") == "search"
        or control.get("name") in {"coupon", "promotion_code"}
        for control in page.controls
    )
    assert 'name="_save"' not in summary
    assert "data-edit-customer" in summary
    assert "Usage this period" in summary  # the panels are the summary's body

    edit = admin_client.get(url, {"edit": "1"}).content.decode()
    page = read(edit)
    assert page.h1 == ["Edit Clocked Co"]
    assert page.breadcrumbs == "Home › Customers › Clocked Co › Edit"
    assert 'name="_save"' in edit
    assert "Usage this period" not in edit
    response = admin_client.post(
        url, {"name": "Renamed Co", "email": "ap@renamed.example", "tax_exempt": "none"}
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Renamed Co"


# ---- colour contrast (WCAG 2.x AA: 4.5:1 for text) -------------------------------

DJANGO_LIGHT = {"--body-bg": "#ffffff", "--darkened-bg": "#f8f8f8"}
DJANGO_DARK = {"--body-bg": "#121212", "--darkened-bg": "#212121"}


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    )
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _stylesheet() -> str:
    from django.contrib.staticfiles import finders

    with open(finders.find("tally/admin.css"), encoding="utf-8") as css:
        return css.read()


def _variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", block))


def test_contrast_table():
    assert round(contrast("#ffffff", "#000000"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic near miss


def test_text_colours_meet_aa_contrast():
    css = _stylesheet()
    light = {**DJANGO_LIGHT, **_variables(css.split("}", 1)[0])}
    dark = {
        **light,
        **DJANGO_DARK,
        **_variables(re.search(r'html\[data-theme="dark"\][^{]*\{([^}]*)\}', css)[1]),
    }
    pairs = [
        ("--link-fg", "--body-bg"),
        ("--link-fg", "--darkened-bg"),
        ("--breadcrumbs-link-fg", "--breadcrumbs-bg"),
        ("--breadcrumbs-fg", "--breadcrumbs-bg"),
        ("--tally-muted", "--body-bg"),
        ("--tally-muted", "--darkened-bg"),
    ]
    low = {
        (theme, fg, bg): round(contrast(colours[fg], colours[bg]), 2)
        for theme, colours in (("light", light), ("dark", dark))
        for fg, bg in pairs
        if contrast(colours[fg], colours[bg]) < 4.5
    }
    button = contrast("#ffffff", light["--button-bg"])
    if button < 4.5:
        low[("button", "#ffffff", light["--button-bg"])] = round(button, 2)
    badges = re.findall(
        r"\.tally-(?:badge|test-banner|mode-\w+)[^{]*\{[^}]*background:\s*(#[0-9a-f]{6});"
        r"\s*color:\s*(#[0-9a-f]{6})",
        css,
    )
    assert len(badges) >= 5
    low.update(
        {
            ("badge", fg, bg): round(contrast(fg, bg), 2)
            for bg, fg in badges
            if contrast(fg, bg) < 4.5
        }
    )
    assert low == {}

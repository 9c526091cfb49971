"""The official stripe SDK drives tax rates, customer tax ids and a subscription
with default tax rates against a live server."""

import pytest


def test_tax_rates(stripe_sdk):
    stripe = stripe_sdk
    vat = stripe.TaxRate.create(
        display_name="VAT",
        percentage=19.0,
        inclusive=False,
        country="DE",
        jurisdiction="DE",
        tax_type="vat",
        description="German VAT",
    )
    assert isinstance(vat, stripe.TaxRate)
    assert (vat.percentage, vat.inclusive, vat.active) == (19, False, True)
    gst = stripe.TaxRate.create(display_name="GST", percentage=8.875, inclusive=True)
    assert gst.effective_percentage == 8.875
    assert stripe.TaxRate.retrieve(vat.id).display_name == "VAT"
    vat = stripe.TaxRate.modify(vat.id, display_name="MwSt", metadata={"k": "v"})
    assert (vat.display_name, vat.metadata["k"]) == ("MwSt", "v")
    assert [r.id for r in stripe.TaxRate.list(inclusive=True).data] == [gst.id]
    archived = stripe.TaxRate.modify(gst.id, active=False)
    assert archived.active is False
    assert [r.id for r in stripe.TaxRate.list(active=True).auto_paging_iter()] == [
        vat.id
    ]


def test_customer_tax_ids(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Jenny Rosen", tax_exempt="reverse")
    assert customer.tax_exempt == "reverse"
    tax_id = stripe.Customer.create_tax_id(
        customer.id, type="eu_vat", value="DE136695976"
    )
    assert isinstance(tax_id, stripe.TaxId)
    assert (tax_id.type, tax_id.value, tax_id.country) == (
        "eu_vat",
        "DE136695976",
        "DE",
    )
    assert stripe.Customer.retrieve_tax_id(customer.id, tax_id.id).id == tax_id.id
    assert [t.id for t in stripe.Customer.list_tax_ids(customer.id).data] == [tax_id.id]
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.Customer.create_tax_id(customer.id, type="eu_vat", value="DE136695977")
    assert info.value.code == "tax_id_invalid"
    deleted = stripe.Customer.delete_tax_id(customer.id, tax_id.id)
    assert deleted.deleted is True
    assert stripe.Customer.list_tax_ids(customer.id).data == []
    customer = stripe.Customer.modify(customer.id, tax_exempt="exempt")
    assert customer.tax_exempt == "exempt"


def test_subscription_with_default_tax_rates(stripe_sdk):
    stripe = stripe_sdk
    vat = stripe.TaxRate.create(display_name="VAT", percentage=20, inclusive=False)
    city = stripe.TaxRate.create(display_name="City", percentage=2.5, inclusive=False)
    customer = stripe.Customer.create(name="Jenny Rosen")
    stripe.Customer.create_tax_id(customer.id, type="gb_vat", value="GB980780684")
    product = stripe.Product.create(name="Pro")
    price = stripe.Price.create(
        product=product.id,
        currency="gbp",
        unit_amount=1999,
        recurring={"interval": "month"},
    )
    subscription = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": price.id, "quantity": 3}],
        default_tax_rates=[vat.id, city.id],
        expand=["latest_invoice"],
    )
    assert [r.id for r in subscription.default_tax_rates] == [vat.id, city.id]
    invoice = subscription.latest_invoice
    # 59.97: VAT 11.994 → 11.99, city 1.49925 → 1.50.
    assert (invoice.subtotal, invoice.total) == (5997, 5997 + 1199 + 150)
    assert invoice.total_excluding_tax == 5997
    assert [(t.amount, t.tax_rate_details.tax_rate) for t in invoice.total_taxes] == [
        (1199, vat.id),
        (150, city.id),
    ]
    assert invoice.customer_tax_ids[0].value == "GB980780684"
    (line,) = invoice.lines.data
    assert [t.amount for t in line.taxes] == [1199, 150]
    assert line.taxes[0].tax_behavior == "exclusive"
    preview = stripe.Invoice.create_preview(
        customer=customer.id, subscription=subscription.id
    )
    assert [t.amount for t in preview.total_taxes] == [1199, 150]
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.TaxRate.modify(vat.id, percentage=21)
    assert info.value.code == "tax_rate_in_use"

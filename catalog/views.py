"""Dashboard pages of the product catalog, served inside the Django admin.

Each page parses a form, calls one service or selector, and renders; the admin
classes in ``catalog.admin`` route to these and check permissions.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from catalog import display, selectors, services
from catalog.forms import (
    PriceDetailsForm,
    PriceEditor,
    ProductForm,
    QuantityForm,
)
from catalog.models import Price, Product
from catalog.pricing import describe_line, describe_price
from core.admin_pages import admin_page
from core.errors import TallyError


def product_url(product: Product) -> str:
    return reverse("admin:catalog_product_change", args=[quote(product.pk)])


def price_url(price: Price) -> str:
    return reverse("admin:catalog_price_change", args=[quote(price.pk)])


def price_add_url(product: Product) -> str:
    return f"{reverse('admin:catalog_price_add')}?{urlencode({'product': product.pk})}"


def _meter_add_url() -> str:
    """The dashboard page that creates meters, once the metering app has one."""
    try:
        return reverse("admin:metering_meter_add")
    except NoReverseMatch:
        return ""


def _page(request, model_admin, template: str, title: str, **context):
    return admin_page(
        request,
        model_admin,
        template,
        title,
        meter_add_url=_meter_add_url(),
        **context,
    )


def product_create(request, *, model_admin):
    """Create product: name, description, unit label and its first price."""
    data = request.POST if request.method == "POST" else None
    product_form, editor = ProductForm(data), PriceEditor(data)
    if data is not None and all([product_form.is_valid(), editor.is_valid()]):
        try:
            product = services.product_create(
                params=product_form.to_params(), prices=[editor.params()]
            )
        except TallyError as error:
            editor.add_service_error(error)
        else:
            messages.success(request, f"Created the product {product.name}.")
            if "_addprice" in request.POST:
                return HttpResponseRedirect(price_add_url(product))
            return HttpResponseRedirect(product_url(product))
    return _page(
        request,
        model_admin,
        "catalog/product_create.html",
        "Create product",
        product_form=product_form,
        editor=editor,
    )


def product_detail(request, product_id: str, *, model_admin):
    """The product page: details (editable), its prices, archive."""
    product = get_object_or_404(Product, pk=product_id)
    initial = {
        "name": product.name,
        "description": product.description or "",
        "unit_label": product.unit_label or "",
    }
    data = request.POST if request.method == "POST" else None
    form = ProductForm(data, initial=initial)
    if data is not None and form.is_valid():
        try:
            services.product_update(product=product, params=form.to_params())
        except TallyError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Saved the product.")
            return HttpResponseRedirect(product_url(product))
    prices = selectors.prices_with_tiers(
        product.prices.select_related("recurring_meter")
    ).order_by("-active", "-created", "-pk")
    rows = [
        {
            "price": price,
            "url": price_url(price),
            "summary": display.price_summary(price),
            "model": display.pricing_model(price),
            "period": display.billing_period(price),
            "is_default": price.pk == product.default_price_id,
        }
        for price in prices
    ]
    return _page(
        request,
        model_admin,
        "catalog/product_detail.html",
        product.name,
        product=product,
        form=form,
        price_rows=rows,
        add_price_url=price_add_url(product),
        can_delete=not rows and model_admin.has_delete_permission(request, product),
    )


def product_set_active(request, product_id: str, *, model_admin):
    """Archive or unarchive a product (POST ``active=true|false``)."""
    product = get_object_or_404(Product, pk=product_id)
    active = request.POST.get("active") == "true"
    services.product_update(product=product, params={"active": active})
    messages.success(request, f"{'Unarchived' if active else 'Archived'} {product}.")
    return HttpResponseRedirect(product_url(product))


def product_set_default_price(request, product_id: str, *, model_admin):
    """Make one of the product's prices its default (POST ``price``)."""
    product = get_object_or_404(Product, pk=product_id)
    try:
        services.product_update(
            product=product, params={"default_price": request.POST.get("price", "")}
        )
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Changed the default price.")
    return HttpResponseRedirect(product_url(product))


def price_create(request, *, model_admin):
    """Add price: the pricing model, amounts or tiers, billing period, meter."""
    product_id = request.GET.get("product") or request.POST.get("product")
    product = Product.objects.filter(pk=product_id).first() if product_id else None
    if product is None:
        return _page(
            request,
            model_admin,
            "catalog/price_choose_product.html",
            "Add price",
            products=Product.objects.filter(active=True).order_by("name"),
        )
    data = request.POST if request.method == "POST" else None
    editor = PriceEditor(data)
    if data is not None and editor.is_valid():
        try:
            price = services.price_create(
                params={**editor.params(), "product": product.pk}
            )
        except TallyError as error:
            editor.add_service_error(error)
        else:
            messages.success(request, f"Added a {display.pricing_model(price)} price.")
            if "_addanother" in request.POST:
                return HttpResponseRedirect(price_add_url(product))
            return HttpResponseRedirect(product_url(product))
    return _page(
        request,
        model_admin,
        "catalog/price_create.html",
        f"Add a price to {product.name}",
        product=product,
        editor=editor,
    )


def price_detail(request, price_id: str, *, model_admin):
    """The price page: the model in words, a worked example, the mutable details."""
    price = get_object_or_404(
        selectors.prices_with_tiers().select_related("product", "recurring_meter"),
        pk=price_id,
    )
    initial = {"nickname": price.nickname or "", "lookup_key": price.lookup_key or ""}
    data = request.POST if request.method == "POST" else None
    form = PriceDetailsForm(data, initial=initial)
    if data is not None and form.is_valid():
        try:
            services.price_update(price=price, params=form.to_params())
        except TallyError as error:
            form.add_error(
                "lookup_key" if error.param == "lookup_key" else None, error.message
            )
        else:
            messages.success(request, "Saved the price.")
            return HttpResponseRedirect(price_url(price))
    quantity_form = QuantityForm(request.GET if "quantity" in request.GET else None)
    quantity = (
        quantity_form.cleaned_data["quantity"] if quantity_form.is_valid() else None
    )
    example = selectors.price_worked_example(price=price, quantity=quantity)
    if not quantity_form.is_bound:
        quantity_form = QuantityForm(initial={"quantity": example.quantity})
    return _page(
        request,
        model_admin,
        "catalog/price_detail.html",
        price.nickname or f"{display.pricing_model(price)} price",
        price=price,
        product=price.product,
        form=form,
        summary=display.price_summary(price),
        model_name=display.pricing_model(price),
        period=display.billing_period(price),
        per_period=display.per_period(price),
        description=describe_price(example.spec),
        example=example,
        example_lines=describe_line(example.line, example.spec),
        quantity_form=quantity_form,
        tiers=display.tier_rows(price),
    )


def price_set_active(request, price_id: str, *, model_admin):
    """Archive or unarchive a price (POST ``active=true|false``)."""
    price = get_object_or_404(Price, pk=price_id)
    active = request.POST.get("active") == "true"
    try:
        services.price_update(price=price, params={"active": active})
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"{'Unarchived' if active else 'Archived'} the price."
        )
    return HttpResponseRedirect(price_url(price))

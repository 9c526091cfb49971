"""The product catalog in the staff dashboard; its pages live in ``catalog.views``."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Prefetch
from django.utils.html import format_html, format_html_join

from catalog import display, selectors, services, views
from catalog.models import Feature, Price, Product, ProductFeature
from core.admin_pages import PagesAdmin

# How many prices the catalog list shows per product before "and N more".
LIST_PRICES = 3


class ProductStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("archived", "Archived")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(active=True)
        if self.value() == "archived":
            return queryset.filter(active=False)
        return queryset


def _badge(active: bool):
    return format_html(
        '<span class="tally-badge {}">{}</span>',
        "active" if active else "inactive",
        "Active" if active else "Archived",
    )


@admin.register(Product)
class ProductAdmin(PagesAdmin):
    list_display = ("name", "pricing", "status", "created", "id")
    list_filter = (ProductStatusFilter,)
    search_fields = ("name", "id", "description", "prices__id", "prices__lookup_key")
    change_list_template = "admin/catalog/product/change_list.html"
    ordering = ("-created", "-id")
    create_page = views.product_create
    detail_page = views.product_detail
    detail_takes_post = True  # the edit form

    def get_queryset(self, request):
        active_prices = selectors.prices_with_tiers(
            Price.objects.filter(active=True).order_by("-created", "-pk")
        )
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("prices", queryset=active_prices, to_attr="active_prices")
            )
        )

    @admin.display(description="Prices")
    def pricing(self, product: Product):
        prices = getattr(product, "active_prices", None)
        if prices is None:
            prices = list(product.prices.filter(active=True))
        if not prices:
            return format_html(
                '<span class="tally-muted">{}</span>', "No active prices"
            )
        shown = format_html_join(
            "",
            "<div>{}</div>",
            ((display.price_summary(p),) for p in prices[:LIST_PRICES]),
        )
        more = len(prices) - LIST_PRICES
        if more > 0:
            return format_html(
                '{}<div class="tally-muted">and {} more</div>', shown, more
            )
        return shown

    @admin.display(description="Status", ordering="active")
    def status(self, product: Product):
        return _badge(product.active)

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Product catalog", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def action_urls(self):
        return [
            ("set_active", "active", views.product_set_active),
            ("set_default_price", "default-price", views.product_set_default_price),
        ]

    def delete_model(self, request, obj):
        services.product_delete(product=obj)

    def delete_queryset(self, request, queryset):
        for product in queryset:
            services.product_delete(product=product)


@admin.register(Price)
class PriceAdmin(PagesAdmin):
    list_display = ("__str__", "product", "summary", "period", "status", "created")
    list_filter = (
        "active",
        "type",
        "billing_scheme",
        "recurring_usage_type",
        "currency",
    )
    search_fields = ("id", "nickname", "lookup_key", "product__name", "product__id")
    list_select_related = ("product",)
    ordering = ("-created", "-id")
    create_page = views.price_create
    detail_page = views.price_detail
    detail_takes_post = True  # the edit form

    def get_queryset(self, request):
        return selectors.prices_with_tiers(super().get_queryset(request))

    @admin.display(description="Price")
    def summary(self, price: Price) -> str:
        return display.price_summary(price)

    @admin.display(description="Billing period")
    def period(self, price: Price) -> str:
        return display.billing_period(price)

    @admin.display(description="Status", ordering="active")
    def status(self, price: Price):
        return _badge(price.active)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Prices are archived (active=false), never deleted: invoices point at them.
        return False

    def action_urls(self):
        return [("set_active", "active", views.price_set_active)]


class FeatureForm(forms.ModelForm):
    class Meta:
        model = Feature
        fields = ("name", "lookup_key", "active")

    def clean_lookup_key(self) -> str:
        # A friendly message; the unique constraint still decides races.
        key = self.cleaned_data["lookup_key"]
        taken = Feature.objects.filter(livemode=self.instance.livemode, lookup_key=key)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"A feature already uses the lookup key {key}.")
        return key


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    """Entitlement features; saving goes through the feature services."""

    form = FeatureForm
    list_display = ("name", "lookup_key", "status", "livemode", "created")
    list_filter = ("active", "livemode")
    search_fields = ("id", "name", "lookup_key")
    ordering = ("-created", "-id")

    def get_readonly_fields(self, request, obj=None):
        # The lookup key is the product's name for the feature: it never changes.
        return ("lookup_key",) if obj is not None else ()

    @admin.display(description="Status", ordering="active")
    def status(self, feature: Feature):
        return _badge(feature.active)

    def save_model(self, request, obj, form, change):
        if change:
            saved = services.feature_update(
                feature=obj, params={"name": obj.name, "active": obj.active}
            )
        else:
            # The form already checked the lookup key is free (its constraint).
            saved = services.feature_create(
                name=obj.name,
                lookup_key=obj.lookup_key,
                metadata=None,
                livemode=obj.livemode,
            )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        # Archived (active=false), never deleted: entitlements point at features.
        return False


@admin.register(ProductFeature)
class ProductFeatureAdmin(admin.ModelAdmin):
    """Features attached to products: attach and detach through the services."""

    list_display = ("product", "feature", "livemode", "created")
    list_select_related = ("product", "feature")
    search_fields = ("id", "product__id", "product__name", "feature__lookup_key")
    fields = ("product", "feature")
    ordering = ("-created", "-id")

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "feature":
            # Archived features attach to no new product.
            kwargs["queryset"] = Feature.objects.filter(active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        saved = services.product_feature_create(
            product=obj.product,
            feature_id=obj.feature_id,
            livemode=obj.product.livemode,
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.product_feature_delete(product_feature=obj)

    def delete_queryset(self, request, queryset):
        for attached in queryset:
            services.product_feature_delete(product_feature=attached)

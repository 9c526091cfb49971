"""Coupons and promotion codes in the dashboard: create through the services,
list with their redemptions, see each one's discounts."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.html import format_html_join
from django.views.decorators.http import require_POST

from billing import discount_pages
from billing.models import Coupon, Discount, PromotionCode
from billing.services import coupons
from catalog.models import Product
from core import clock


class CouponForm(forms.ModelForm):
    """A new coupon's terms; ``applies_to`` as a choice of products."""

    coupon_id = forms.RegexField(
        r"^[A-Za-z0-9_-]{1,64}$",
        required=False,
        label="ID",
        help_text="The code customers type. Leave empty for a random one.",
    )
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.filter(active=True).order_by("name"),
        required=False,
        help_text="Only these products' lines are discounted (none: every line).",
    )

    class Meta:
        model = Coupon
        fields = (
            "name",
            "percent_off",
            "amount_off",
            "currency",
            "duration",
            "duration_in_months",
            "max_redemptions",
            "redeem_by",
        )

    def clean(self):
        data = super().clean()
        if not self.instance._state.adding:
            return data
        percent, amount = data.get("percent_off"), data.get("amount_off")
        if (percent is None) == (amount is None):
            raise forms.ValidationError("Give either a percentage or an amount off.")
        if percent is not None and not 0 < percent <= 100:
            self.add_error("percent_off", "Between 0 (excluded) and 100.")
        if amount is not None and not data.get("currency"):
            self.add_error("currency", "An amount off needs its currency.")
        if percent is not None and data.get("currency"):
            self.add_error("currency", "Only an amount off has a currency.")
        repeating = data.get("duration") == "repeating"
        if repeating != bool(data.get("duration_in_months")):
            self.add_error(
                "duration_in_months", "Give the months for a repeating coupon only."
            )
        if data.get("redeem_by") and data["redeem_by"] <= clock.now():
            self.add_error("redeem_by", "Must be in the future.")
        taken = Coupon._base_manager.filter(pk=data.get("coupon_id") or None)
        if taken.exists():
            self.add_error("coupon_id", "A coupon with this ID exists.")
        return data

    def params(self) -> dict:
        data = {
            key: value
            for key, value in self.cleaned_data.items()
            if value not in (None, "", []) and key not in ("products", "coupon_id")
        }
        if self.cleaned_data.get("coupon_id"):
            data["id"] = self.cleaned_data["coupon_id"]
        if self.cleaned_data.get("products"):
            data["applies_to"] = {
                "products": [p.pk for p in self.cleaned_data["products"]]
            }
        return data


def _redemptions(used: int, limit: int | None) -> str:
    return f"{used} / {limit}" if limit else str(used)


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "terms", "redeemed", "valid", "created")
    list_filter = ("duration", "currency")
    search_fields = ("id", "name")
    ordering = ("-created", "-id")
    form = CouponForm
    readonly_fields = ("terms", "redeemed", "applies_to", "discounts", "codes")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted=False)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["coupon_id", *CouponForm.Meta.fields, "products"]
        return ["name", "metadata", *self.readonly_fields]

    @admin.display(description="Terms")
    def terms(self, coupon: Coupon) -> str:
        return discount_pages.coupon_terms(coupon)

    @admin.display(description="Redeemed", ordering="times_redeemed")
    def redeemed(self, coupon: Coupon) -> str:
        return _redemptions(coupon.times_redeemed, coupon.max_redemptions)

    @admin.display(description="Valid", boolean=True)
    def valid(self, coupon: Coupon) -> bool:
        from billing.api.render.discounts import coupon_valid

        return coupon_valid(coupon, now=clock.now())

    @admin.display(description="Applies to")
    def applies_to(self, coupon: Coupon) -> str:
        return ", ".join(coupon.applies_to_products) or "every product"

    @admin.display(description="Redemptions")
    def discounts(self, coupon: Coupon):
        rows = (
            Discount.objects.filter(coupon=coupon)
            .select_related("customer", "promotion_code")
            .order_by("-created")[:50]
        )
        return (
            format_html_join(
                "",
                "<div><code>{}</code> · {} · {} · {}</div>",
                (
                    (
                        row.pk,
                        row.customer,
                        row.level,
                        row.promotion_code.code if row.promotion_code_id else "no code",
                    )
                    for row in rows
                ),
            )
            or "None yet."
        )

    @admin.display(description="Promotion codes")
    def codes(self, coupon: Coupon):
        return (
            format_html_join(
                ", ",
                "<code>{}</code>{}",
                (
                    (code.code, "" if code.active else " (inactive)")
                    for code in coupon.promotion_codes.order_by("code")
                ),
            )
            or "None."
        )

    def save_model(self, request, obj, form, change):
        if change:
            coupons.coupon_update(
                coupon=obj, params={"name": obj.name, "metadata": obj.metadata}
            )
            return
        created = coupons.coupon_create(params=form.params(), now=clock.now())
        obj.pk = created.pk

    def delete_model(self, request, obj):
        coupons.coupon_delete(coupon=obj)

    def get_urls(self):
        return [
            path(
                "apply/customer/<str:customer_id>/",
                self.admin_site.admin_view(require_POST(self._customer_apply)),
                name="billing_coupon_apply_customer",
            ),
            *super().get_urls(),
        ]

    def _customer_apply(self, request, customer_id: str):
        if not self.has_change_permission(request):
            raise PermissionDenied
        return discount_pages.customer_discount_apply(request, customer_id)


class PromotionCodeForm(forms.ModelForm):
    coupon = forms.ModelChoiceField(
        queryset=Coupon.objects.filter(deleted=False).order_by("-created")
    )

    class Meta:
        model = PromotionCode
        fields = (
            "code",
            "coupon",
            "customer",
            "active",
            "expires_at",
            "max_redemptions",
            "first_time_transaction",
            "minimum_amount",
            "minimum_amount_currency",
        )


@admin.register(PromotionCode)
class PromotionCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "coupon", "customer", "active", "redeemed", "expires_at")
    list_filter = ("active",)
    search_fields = ("code", "coupon__id", "customer__id", "customer__name")
    list_select_related = ("coupon", "customer")
    ordering = ("-created", "-id")
    form = PromotionCodeForm
    raw_id_fields = ("customer",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return PromotionCodeForm.Meta.fields
        return ["active", "metadata", "code", "coupon", "customer", "redeemed"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("code", "coupon", "customer", "redeemed")

    @admin.display(description="Redeemed", ordering="times_redeemed")
    def redeemed(self, code: PromotionCode) -> str:
        return _redemptions(code.times_redeemed, code.max_redemptions)

    def save_model(self, request, obj, form, change):
        if change:
            coupons.promotion_code_update(
                promotion_code=obj,
                params={"active": obj.active, "metadata": obj.metadata},
                now=clock.now(),
            )
            return
        data = form.cleaned_data
        restrictions = {"first_time_transaction": data["first_time_transaction"]}
        if data.get("minimum_amount"):
            restrictions["minimum_amount"] = data["minimum_amount"]
            restrictions["minimum_amount_currency"] = data["minimum_amount_currency"]
        params = {
            "coupon": data["coupon"].pk,
            "code": data["code"],
            "customer": data["customer"].pk if data.get("customer") else None,
            "active": data["active"],
            "expires_at": data.get("expires_at"),
            "max_redemptions": data.get("max_redemptions"),
            "restrictions": restrictions,
        }
        created = coupons.promotion_code_create(params=params, now=clock.now())
        obj.pk = created.pk


def register_customer_panel() -> None:
    from core import dashboard

    dashboard.register_customer_panel(
        dashboard.CustomerPanel(
            name="discount",
            title="Discount",
            render=discount_pages.customer_panel,
            order=15,
        )
    )

"""URL map: the Stripe-shaped API (first: most requests), the dashboard (admin),
customer pages, public invoice links, API docs."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from alerts import portal as alerts_portal
from billing import portal as billing_portal
from core import admin_pages
from core.api.base import unknown_route
from core.portal import urls as core_portal
from metering import portal as metering_portal
from payments import hosted as payments_hosted
from payments import portal as payments_portal
from payments import views as payments_views

# The customer's pages: core's overview plus the apps' pages, under one link.
customer_pages = [
    *core_portal.urlpatterns,
    *billing_portal.urlpatterns,
    *metering_portal.urlpatterns,
    *alerts_portal.urlpatterns,
    *payments_portal.urlpatterns,
]

urlpatterns = [
    # The Stripe-shaped API first: it takes nearly all the traffic, and no other
    # route starts with v1/ or v2/, so the order changes no route's answer while an
    # API request no longer tries the dashboard's and pages' patterns first.
    path("", include("core.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("metering.api.urls")),
    path("", include("credits.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("alerts.api.urls")),
    path("", include("payments.api.urls")),
    # Anything else under the API prefixes answers in Stripe's error envelope. The
    # API authenticates with keys, not cookies: no CSRF token (every DRF view is
    # exempt too), or a POST here got Django's HTML "CSRF verification failed".
    re_path(r"^v[12]/", csrf_exempt(unknown_route)),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/mode/", admin_pages.mode_switch, name="dashboard-mode"),
    path("admin/", admin.site.urls),
    path("customer/<str:token>/", include((customer_pages, "portal"))),
    # Public invoice links (hosted_invoice_url, invoice_pdf) and the pay form.
    path(
        "i/<str:token>/pay",
        payments_hosted.hosted_invoice_pay,
        name="hosted-invoice-pay",
    ),
    path("i/", include("billing.documents.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema"),
        name="api-redoc",
    ),
    path("webhooks/stripe/", payments_views.stripe_webhook, name="stripe_webhook"),
]

# Failures outside any view (middleware, bad hosts) answer in the envelope under the
# API prefixes, and with Django's pages elsewhere.
handler400 = "core.api.errors.bad_request"
handler403 = "core.api.errors.permission_denied"
handler404 = "core.api.errors.page_not_found"
handler500 = "core.api.errors.server_error"

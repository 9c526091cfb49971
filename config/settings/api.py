"""The Stripe-shaped API: DRF, the OpenAPI document and rate limits."""

import os

from config.settings.jobs import CELERY_BROKER_URL

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.auth.HasApiKey"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.StripeFormParser",
        "core.api.parsers.StripeJSONParser",
        "core.api.parsers.StripeMultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "core.api.errors.stripe_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.StripeAutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Tally API",
    "DESCRIPTION": (
        "Stripe-compatible usage-based billing API. Authenticate with a secret key "
        "(`Authorization: Bearer sk_test_...`). Request bodies are form-encoded with "
        "nested brackets, as Stripe's, or JSON."
    ),
    "VERSION": "2025-05-28.basil",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/v[12]",
    # One-value choice sets that several fields share, named once.
    "ENUM_NAME_OVERRIDES": {
        "MonetaryTypeEnum": ["monetary"],
        "AdjustmentTypeEnum": ["cancel"],
        "TaxIdTypeEnum": "billing.taxes.tax_ids.TAX_ID_TYPES",
        "CommitmentTypeEnum": "billing.api.params.commitments.TYPES",
    },
    # Stripe's conventions for every operation: core/api/schema.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.stripe_conventions",
    ],
}


# API rate limits per secret key and second (core.api.ratelimit), reads and
# writes apart, as Stripe's live mode; 0 turns one off. Meter event ingestion is
# not limited. Counters live in Redis when the broker is Redis (or at
# TALLY_RATE_LIMIT_REDIS_URL), else in each web process.
TALLY_RATE_LIMIT_READ = int(os.environ.get("TALLY_RATE_LIMIT_READ", "100"))
TALLY_RATE_LIMIT_WRITE = int(os.environ.get("TALLY_RATE_LIMIT_WRITE", "100"))
TALLY_RATE_LIMIT_REDIS_URL = os.environ.get(
    "TALLY_RATE_LIMIT_REDIS_URL",
    CELERY_BROKER_URL
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else "",
)

"""Tally settings, read from the environment (12-factor).

Defaults give an embedded setup that needs no server: SQLite under var/ and a
filesystem Celery broker. DATABASE_URL and CELERY_BROKER_URL switch to
PostgreSQL and Redis with the same code.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TALLY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item]


DEBUG = env_bool("DEBUG", False)
# Development conveniences (`make run` sets it; pytest runs with it): any Host
# header and plain-HTTP cookies. Never in production.
TALLY_DEV = env_bool("TALLY_DEV", "PYTEST_VERSION" in os.environ)
_PRODUCTION = not (DEBUG or TALLY_DEV)


def _installation_secret_key() -> str:
    """This installation's own random key, made once under TALLY_VAR_DIR.

    There is no built-in key: without SECRET_KEY, one machine (``make run``, a
    single-box install) signs with a key of its own. Several web hosts must share
    one SECRET_KEY instead.
    """
    path = VAR_DIR / "secret_key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 50:
            raise ImproperlyConfigured(f"{path} holds no usable key") from None
        return key
    key = secrets.token_urlsafe(50)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


SECRET_KEY = os.environ.get("SECRET_KEY", "").strip() or _installation_secret_key()

# Behind a proxy, list the public host names; TALLY_PUBLIC_URL's host is added.
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if _PRODUCTION else "*"
)
_public_host = urlsplit(os.environ.get("TALLY_PUBLIC_URL", "")).hostname
if _public_host and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public_host)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# HTTPS (`manage.py check --deploy` is clean with the production defaults): the
# dashboard's cookies only over HTTPS, HTTP redirected to HTTPS, and HSTS telling
# browsers to come back over HTTPS only. TALLY_DEV turns them off for plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _PRODUCTION)
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", "31536000" if _PRODUCTION else "0")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Reverse proxies in front (terminating TLS): their X-Forwarded-Proto says whether
# the client used HTTPS, and their X-Forwarded-For gives the client's address.
TALLY_PROXY_COUNT = int(os.environ.get("TALLY_PROXY_COUNT", "0"))
if TALLY_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    # Tally apps, in dependency order: a later app may import an earlier one.
    "core",
    "catalog",
    "metering",
    "credits",
    "billing",
    "alerts",
    "payments",
]

MIDDLEWARE = [
    "core.api.middleware.RequestIdMiddleware",
    "core.db.ReplicaReadsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.api.middleware.ApiErrorMiddleware",
    "core.api.middleware.ApiKeyMiddleware",
    "core.api.middleware.IdempotencyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.admin_pages.DashboardModeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: answers a locked-out login with its lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked.
    "core.auth_backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.admin_pages.dashboard_mode",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tally.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write to one file at once: WAL lets readers run beside
    # the writer, IMMEDIATE transactions take the write lock up front (no deadlock
    # on lock upgrade) and the busy timeout makes writers queue instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=30000;"
            "PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if IS_POSTGRES:
    # psycopg prepares a statement the fifth time a connection runs it, sparing the
    # server its parsing and planning: a good part of what recording a meter event
    # costs. Django leaves this off for connection poolers: behind PgBouncer older
    # than 1.21 in transaction mode, set DATABASE_PREPARE_THRESHOLD=off.
    _prepare = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5").strip().lower()
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        None if _prepare in ("", "off", "none") else int(_prepare)
    )

# A streaming replica of the primary (PostgreSQL): dashboard and customer-page
# reads go to it, everything that must see its own writes stays on the primary
# (core/db.py). In tests the alias reads the primary's test database.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **dj_database_url.parse(
            DATABASE_REPLICA_URL,
            conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        ),
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.db.ReplicaRouter"]
# Seconds a browser reads the primary after it wrote: more than the replica's lag.
DATABASE_REPLICA_PIN_SECONDS = int(os.environ.get("DATABASE_REPLICA_PIN_SECONDS", "10"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "admin:login"

# Staff login throttling (django-axes): this many failed logins for one username
# from one address lock that pair out for the cool-off; a success resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("TALLY_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(
    minutes=int(os.environ.get("TALLY_LOGIN_COOLOFF_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/login_locked_out.html"
# The client's address: the connection's own, unless TALLY_PROXY_COUNT trusted
# reverse proxies stand in front (then the X-Forwarded-For entry they added).
# Trusting the header without a proxy would let a client pick a new address for
# every attempt.
if TALLY_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TALLY_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds before an unresponsive SMTP server counts as a failed send (then retried).
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@tally.localhost")
STAFF_NOTIFICATION_EMAILS = env_list("STAFF_NOTIFICATION_EMAILS", "")

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

# Celery: an embedded filesystem broker by default, Redis in production.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem"):
    for folder in ("broker", "broker-processed", "broker-control"):
        (VAR_DIR / folder).mkdir(exist_ok=True)
    # The worker's pool. kombu's filesystem transport has no file descriptor to
    # wait on, so Celery drives a prefork pool through billiard's blocking Pool,
    # whose children share one lock on the task pipe: a child killed while holding
    # it (an idle child waits for work holding it) leaves every other child waiting
    # forever, and the worker takes no task again. Threads share no such lock.
    # With Redis, Celery's own pool gives each child a pipe of its own (prefork).
    CELERY_WORKER_POOL = os.environ.get("CELERY_WORKER_POOL", "threads")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        # Seconds between looks at the folder: real-time usage evaluations are
        # queued a fraction of a second ahead.
        "polling_interval": 0.1,
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        # Broadcast (remote control) messages; kombu's default is ./control.
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Seconds before a task a worker took but never acknowledged (the worker was
    # killed, its host lost) goes back on its queue for another worker. Longer than
    # the longest task: a task still running when it expires runs twice (harmless,
    # every task is idempotent, but wasted work).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        # A broker host that does not answer (rather than refuse) costs a request
        # at most this many seconds per attempt; the OS default is minutes.
        "socket_connect_timeout": float(
            os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "1")
        ),
    }
# Queueing from a request tries twice, then gives up: the caller logs it and the
# Beat jobs find the work due in the database (core/queue.py, README "Broker down").
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}

# Queues, so that each kind of work can get workers of its own (docs/deploy.md):
# a backlog of one (a long period close, an endpoint retrying) never delays the
# others. A worker started without -Q consumes all of them (`make run`).
CELERY_TASK_QUEUES = {
    name: {"routing_key": name}
    for name in ("realtime", "invoicing", "payments", "webhooks", "default")
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Every task names its queue here; tests/system/test_queues.py checks none is left
# to the default by omission.
CELERY_TASK_ROUTES = {
    # Ingestion side jobs: real-time usage and alert evaluation.
    "alerts.tasks.usage_changes_evaluate_task": {"queue": "realtime"},
    "alerts.tasks.alerts_evaluate_task": {"queue": "realtime"},
    "alerts.tasks.limits_evaluate_task": {"queue": "realtime"},
    "metering.tasks.meter_event_sessions_prune_task": {"queue": "realtime"},
    "metering.tasks.meter_event_partitions_ensure_task": {"queue": "realtime"},
    # Money: period close, finalization, thresholds, credits, test-clock advances.
    "billing.tasks.subscriptions_close_due_task": {"queue": "invoicing"},
    "billing.tasks.invoices_finalize_due_task": {"queue": "invoicing"},
    "alerts.tasks.billing_thresholds_evaluate_task": {"queue": "invoicing"},
    "credits.tasks.credit_grants_process_due_task": {"queue": "invoicing"},
    "credits.tasks.credit_grant_expiry_notices_send_task": {"queue": "invoicing"},
    "core.tasks.test_clock_advance_task": {"queue": "invoicing"},
    "core.tasks.test_clocks_resume_stale_task": {"queue": "invoicing"},
    # Collection: charges, retries and dunning.
    "payments.tasks.invoice_payment_attempt_task": {"queue": "payments"},
    "payments.tasks.invoices_collect_due_task": {"queue": "payments"},
    "payments.tasks.auto_top_ups_evaluate_task": {"queue": "payments"},
    "payments.tasks.invoice_reminders_send_due_task": {"queue": "payments"},
    # Webhook fan-out and delivery.
    "core.tasks.webhook_delivery_send_task": {"queue": "webhooks"},
    "core.tasks.webhook_lane_send_task": {"queue": "webhooks"},
    "core.tasks.webhook_deliveries_dispatch_due_task": {"queue": "webhooks"},
    "core.tasks.webhook_fanout_reconcile_task": {"queue": "webhooks"},
    # Everything else: email and housekeeping.
    "core.tasks.email_send_task": {"queue": "default"},
    "core.tasks.emails_send_task": {"queue": "default"},
    "core.tasks.emails_send_due_task": {"queue": "default"},
    "core.tasks.idempotency_keys_prune_task": {"queue": "default"},
    "core.tasks.test_clocks_delete_expired_task": {"queue": "default"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The one schedule of periodic jobs; django-celery-beat copies it into its tables.
CELERY_BEAT_SCHEDULE = {
    "prune-idempotency-keys": {
        "task": "core.tasks.idempotency_keys_prune_task",
        "schedule": timedelta(hours=1),
    },
    "resume-stale-test-clock-advances": {
        "task": "core.tasks.test_clocks_resume_stale_task",
        "schedule": timedelta(minutes=1),
    },
    "billing-close-due-periods": {
        "task": "billing.tasks.subscriptions_close_due_task",
        "schedule": timedelta(minutes=1),
    },
    "billing-finalize-due-drafts": {
        "task": "billing.tasks.invoices_finalize_due_task",
        "schedule": timedelta(minutes=1),
    },
    "dispatch-due-webhook-deliveries": {
        "task": "core.tasks.webhook_deliveries_dispatch_due_task",
        "schedule": timedelta(seconds=20),
    },
    "reconcile-webhook-fanout": {
        "task": "core.tasks.webhook_fanout_reconcile_task",
        "schedule": timedelta(minutes=5),
    },
    "send-due-emails": {
        "task": "core.tasks.emails_send_due_task",
        "schedule": timedelta(minutes=1),
    },
    "credit-grants-process-due": {
        "task": "credits.tasks.credit_grants_process_due_task",
        "schedule": timedelta(minutes=1),
    },
    "credit-grants-send-expiry-notices": {
        "task": "credits.tasks.credit_grant_expiry_notices_send_task",
        "schedule": timedelta(minutes=1),
    },
    "meter-event-partitions-ahead": {
        "task": "metering.tasks.meter_event_partitions_ensure_task",
        "schedule": timedelta(hours=6),
    },
    "prune-meter-event-sessions": {
        "task": "metering.tasks.meter_event_sessions_prune_task",
        "schedule": timedelta(hours=6),
    },
    "alerts-evaluate": {
        "task": "alerts.tasks.alerts_evaluate_task",
        "schedule": timedelta(minutes=1),
    },
    "usage-limits-evaluate": {
        "task": "alerts.tasks.limits_evaluate_task",
        "schedule": timedelta(minutes=1),
    },
    "billing-thresholds-evaluate": {
        "task": "alerts.tasks.billing_thresholds_evaluate_task",
        "schedule": timedelta(minutes=1),
    },
    "payments-collect-due": {
        "task": "payments.tasks.invoices_collect_due_task",
        "schedule": timedelta(minutes=1),
    },
    "payments-invoice-reminders": {
        "task": "payments.tasks.invoice_reminders_send_due_task",
        "schedule": timedelta(minutes=15),
    },
    "payments-auto-top-ups": {
        "task": "payments.tasks.auto_top_ups_evaluate_task",
        "schedule": timedelta(minutes=1),
    },
}

# Real-time usage (alerts.services.realtime): a commit of meter events queues an
# evaluation this many seconds later, which covers every commit until it starts.
TALLY_USAGE_DEBOUNCE = float(os.environ.get("TALLY_USAGE_DEBOUNCE_SECONDS", "0.2"))
# How long a web process answers the check endpoint from a snapshot it read
# (alerts.services.snapshot_cache); a worker's rewrite shows after at most this.
TALLY_CHECK_CACHE_SECONDS = float(os.environ.get("TALLY_CHECK_CACHE_SECONDS", "0.5"))
# On PostgreSQL a listener thread per web process hears each committed snapshot
# change and drops the entry at once; while it is connected an entry lives up to
# this long instead (alerts.services.snapshot_listener). Off: the short TTL only.
TALLY_CHECK_CACHE_MAX_SECONDS = float(
    os.environ.get("TALLY_CHECK_CACHE_MAX_SECONDS", "30")
)
# Off under pytest unless a test turns it on: its connection would keep the test
# database from being dropped.
TALLY_CHECK_LISTEN = env_bool("TALLY_CHECK_LISTEN", "PYTEST_VERSION" not in os.environ)
# How long an evaluation waits for ingestion transactions still open (PostgreSQL)
# before leaving their events to the run their commit queues.
TALLY_USAGE_SETTLE_WAIT = float(os.environ.get("TALLY_USAGE_SETTLE_WAIT_SECONDS", "2"))

# Meter events partitioned by month of their timestamp (PostgreSQL only;
# metering.storage.partitions, docs/deploy.md): `migrate` converts the table when
# this is on, Beat makes the months ahead, and `meter_events_archive` may then
# archive whole months that no unbilled period touches. Off: one events table.
TALLY_METER_EVENT_PARTITIONS = env_bool("TALLY_METER_EVENT_PARTITIONS", False)

# Test clocks: how long an advance's worker may go silent (between two steps of
# the walk) before the advance is presumed lost and resumed by another worker.
TALLY_TEST_CLOCK_ADVANCE_LEASE = timedelta(
    seconds=int(os.environ.get("TALLY_TEST_CLOCK_LEASE_SECONDS", "300"))
)

# Billing behaviour.
TALLY_IDEMPOTENCY_TTL = timedelta(
    hours=int(os.environ.get("TALLY_IDEMPOTENCY_HOURS", "24"))
)
TALLY_API_VERSION = "2025-05-28.basil"
# How long a period's draft invoice waits for late usage before it finalizes.
TALLY_INVOICE_GRACE_PERIOD = timedelta(
    seconds=int(os.environ.get("TALLY_INVOICE_GRACE_PERIOD", "3600"))
)
# Email each finalized invoice to its customer (when the customer has an email).
TALLY_EMAIL_INVOICE_FINALIZED = env_bool("TALLY_EMAIL_INVOICE_FINALIZED", True)
# Where invoice taxes come from (billing.taxes.provider): the manual tax rates,
# or a class implementing TaxProvider (an automatic tax service).
TALLY_TAX_PROVIDER = os.environ.get(
    "TALLY_TAX_PROVIDER", "billing.taxes.provider.ManualTaxRates"
)
# Where the manual tax rates' taxes are rounded, as Stripe's invoice setting:
# "line_item" (each line's tax, then summed; Stripe's default) or "invoice" (the
# exact taxes summed per rate, rounded once). billing.taxes.calculate.
TALLY_TAX_ROUNDING = os.environ.get("TALLY_TAX_ROUNDING", "line_item")
if TALLY_TAX_ROUNDING not in ("line_item", "invoice"):
    raise ImproperlyConfigured(
        f"TALLY_TAX_ROUNDING must be line_item or invoice, not {TALLY_TAX_ROUNDING!r}."
    )

# Invoice documents (billing.documents): who issues the invoices, as printed on
# each PDF and hosted invoice page. TALLY_SELLER_ADDRESS separates lines with "|".
TALLY_SELLER = {
    "name": os.environ.get("TALLY_SELLER_NAME", "Tally Demo Inc."),
    "address": [
        line.strip()
        for line in os.environ.get(
            "TALLY_SELLER_ADDRESS", "1 Example Street|Springfield 12345|United States"
        ).split("|")
        if line.strip()
    ],
    "email": os.environ.get("TALLY_SELLER_EMAIL", "billing@tally.example"),
    "tax_id": os.environ.get("TALLY_SELLER_TAX_ID", ""),
    "payment_instructions": os.environ.get(
        "TALLY_SELLER_PAYMENT_INSTRUCTIONS",
        "Pay by bank transfer, quoting the invoice number as the reference.",
    ),
}
# Days after its due date (or its finalization, without one) that an invoice's
# public links keep answering; 0: for good (Stripe's links outlive the invoice).
TALLY_HOSTED_INVOICE_DAYS = int(os.environ.get("TALLY_HOSTED_INVOICE_DAYS", "0"))
# Rendered invoice PDFs are kept here (a cache: each renders the same again).
TALLY_DOCUMENTS_DIR = Path(os.environ.get("TALLY_DOCUMENTS_DIR", VAR_DIR / "documents"))
# Invoice numbers: "customer" (each customer's prefix and sequence, the default)
# or "account" (one sequence for all customers under TALLY_INVOICE_PREFIX, as
# Stripe's account-level numbering). Both are gap-free, per mode.
TALLY_INVOICE_NUMBERING = os.environ.get("TALLY_INVOICE_NUMBERING", "customer")
if TALLY_INVOICE_NUMBERING not in ("customer", "account"):
    raise ImproperlyConfigured("TALLY_INVOICE_NUMBERING is customer or account")
TALLY_INVOICE_PREFIX = os.environ.get("TALLY_INVOICE_PREFIX", "TALLY")

# Customer pages: how long a link (dashboard "Open customer page", API
# billing_portal.session) stays valid, in seconds; default 7 days.
TALLY_CUSTOMER_PAGE_TTL = int(os.environ.get("TALLY_CUSTOMER_PAGE_TTL", str(7 * 86400)))
# Scheme and host for links made outside a request (emails), e.g.
# "https://billing.example.com"; requests use their own host.
TALLY_PUBLIC_URL = os.environ.get("TALLY_PUBLIC_URL", "").rstrip("/")

# Credits: email a customer this long before a grant with credits left expires
# (credits.services.notices); 0 turns the notice off.
TALLY_GRANT_EXPIRY_NOTICE = timedelta(
    hours=int(os.environ.get("TALLY_GRANT_EXPIRY_NOTICE_HOURS", str(7 * 24)))
)

# Webhooks (core.webhooks). Hosts that endpoint URLs may point at, as in
# ALLOWED_HOSTS (".example.com" matches subdomains); empty allows any host.
TALLY_WEBHOOK_ALLOWED_HOSTS = env_list("TALLY_WEBHOOK_ALLOWED_HOSTS", "")
# Networks (CIDR) that endpoint URLs may reach although not public: loopback,
# private, link-local and reserved addresses are refused otherwise (SSRF).
# `make run` allows loopback ("127.0.0.0/8,::1/128") for a receiver on the machine.
TALLY_WEBHOOK_ALLOWED_NETWORKS = env_list("TALLY_WEBHOOK_ALLOWED_NETWORKS", "")
TALLY_WEBHOOK_MAX_ENDPOINTS = int(os.environ.get("TALLY_WEBHOOK_MAX_ENDPOINTS", "16"))
# Seconds to connect to a receiver, and to wait between bytes of its answer.
TALLY_WEBHOOK_CONNECT_TIMEOUT = float(
    os.environ.get("TALLY_WEBHOOK_CONNECT_TIMEOUT", "5")
)
TALLY_WEBHOOK_READ_TIMEOUT = float(os.environ.get("TALLY_WEBHOOK_READ_TIMEOUT", "15"))
# Send a healthy endpoint's events one at a time, in commit order (see
# core/webhooks/__init__.py); off sends them side by side, for throughput.
TALLY_WEBHOOK_ORDERED = env_bool("TALLY_WEBHOOK_ORDERED", True)
# Unordered: how many workers may send one endpoint's events at once (its lanes).
TALLY_WEBHOOK_LANES = int(os.environ.get("TALLY_WEBHOOK_LANES", "4"))
# First attempts a worker claims at a time from a lane, sent one after another.
TALLY_WEBHOOK_BATCH_SIZE = int(os.environ.get("TALLY_WEBHOOK_BATCH_SIZE", "50"))
# Retries stop this long after an event; an endpoint failing every attempt for
# this long is disabled (and staff are emailed).
TALLY_WEBHOOK_RETRY_FOR = timedelta(
    hours=int(os.environ.get("TALLY_WEBHOOK_RETRY_HOURS", "72"))
)
TALLY_WEBHOOK_DISABLE_AFTER = timedelta(
    hours=int(os.environ.get("TALLY_WEBHOOK_DISABLE_AFTER_HOURS", "72"))
)

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line is redacted: no API key, webhook secret or link token in a log.
    "formatters": {"redacted": {"()": "config.redaction.RedactingFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "redacted"}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

# Collection (payments app, docs/payments.md): the processor of each mode, a dotted
# path to a class with the ``payments.processors.base.Processor`` methods.
TALLY_PAYMENT_PROCESSORS = {
    "test": os.environ.get(
        "TALLY_PAYMENT_PROCESSOR_TEST", "payments.processors.simulator.Simulator"
    ),
    "live": os.environ.get(
        "TALLY_PAYMENT_PROCESSOR_LIVE", "payments.processors.stripe.StripeProcessor"
    ),
}
# Live mode through Stripe: the secret key, and where its API answers (a local
# contract server in tests).
TALLY_STRIPE_SECRET_KEY = os.environ.get("TALLY_STRIPE_SECRET_KEY", "")
TALLY_STRIPE_API_BASE = os.environ.get(
    "TALLY_STRIPE_API_BASE", "https://api.stripe.com"
)
TALLY_STRIPE_WEBHOOK_SECRET = os.environ.get("TALLY_STRIPE_WEBHOOK_SECRET", "")
# Retries after a failed charge, in days from the first attempt (Stripe's Smart
# Retries as the model: four attempts over two weeks). The dashboard's "Retries and
# dunning" page overrides these.
TALLY_PAYMENT_RETRY_DAYS = [
    int(day)
    for day in os.environ.get("TALLY_PAYMENT_RETRY_DAYS", "3,7,14").split(",")
    if day.strip()
]
# When no retry is left: the subscription "past_due" (left), "unpaid" or "canceled";
# the invoice "open" (left) or "uncollectible".
TALLY_DUNNING_SUBSCRIPTION_END = os.environ.get(
    "TALLY_DUNNING_SUBSCRIPTION_END", "unpaid"
)
TALLY_DUNNING_INVOICE_END = os.environ.get("TALLY_DUNNING_INVOICE_END", "open")
# Reminders of send_invoice invoices, in days from the due date (-3: three days
# before; 7: a week overdue).
TALLY_INVOICE_REMINDER_DAYS = [
    int(day)
    for day in os.environ.get("TALLY_INVOICE_REMINDER_DAYS", "-3,0,7").split(",")
    if day.strip()
]

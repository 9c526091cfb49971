"""Shared fixtures: API keys, a Stripe-encoding API client, the stripe SDK."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connections
from django.test import Client

from config.celery import app as celery_app
from core import guards
from core.services.api_keys import api_key_create
from tests.helpers import ApiClient

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]


def xdist_worker_env(worker: int, environ=os.environ) -> dict[str, str]:
    """What pytest-xdist worker number ``worker`` changes in its environment.

    Settings read the environment once, at import: a worker must be given its own
    before Django starts in it. pytest-django names each worker's test database
    apart; these keep apart what the database does not hold. Its own TALLY_VAR_DIR
    (documents, the SQLite test database, the embedded broker's folders) and its
    own Redis database: the system tests empty the broker's queues and start
    workers on it, which another pytest worker's tests must not see. Worker k uses
    the Redis database after the broker URL's by k (gw0 keeps it), so the broker's
    database and the k after it must be free for the suite.
    """
    env = {
        "TALLY_VAR_DIR": str(
            Path(environ.get("TALLY_VAR_DIR", ROOT / "var")) / f"gw{worker}"
        )
    }
    if environ.get("TALLY_DOCUMENTS_DIR"):
        env["TALLY_DOCUMENTS_DIR"] = str(
            Path(environ["TALLY_DOCUMENTS_DIR"]) / f"gw{worker}"
        )
    broker = environ.get("CELERY_BROKER_URL", "")
    if broker.startswith(("redis://", "rediss://")):
        parts = urlsplit(broker)
        base = int(parts.path.strip("/") or 0)
        if base + worker > 15:
            raise RuntimeError(
                f"xdist worker {worker} would use Redis database {base + worker}; "
                "point CELERY_BROKER_URL at a lower database"
            )
        env["CELERY_BROKER_URL"] = urlunsplit(parts._replace(path=f"/{base + worker}"))
    return env


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_newgateway(gateway):
    """Give each xdist worker its environment before its pytest (and Django) start."""
    worker = int("".join(filter(str.isdigit, gateway.id)) or 0)
    env = xdist_worker_env(worker)
    gateway.remote_exec(f"import os\nos.environ.update({env!r})").waitclose()


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Run tasks in-process, at on_commit, as the worker would."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


# What tests change to queue for real (tests/core/test_broker_down.py, the system
# tests): eager mode, the broker they write to and its options.
_CELERY_CONF = (
    "task_always_eager",
    "task_eager_propagates",
    "broker_write_url",
    "broker_transport_options",
)


@pytest.fixture(autouse=True)
def _celery_state_restored():
    """Leave Celery as the test found it: the suite's app current, its settings, its
    connections and ``core.queue``'s memory of a dead broker.

    A test that made another Celery app (one made current by default) sent every
    later shared task to that app's broker: the webhook kill test then waited for
    sends that went to a folder no worker read.
    """
    from celery import _state

    from core import queue

    conf = celery_app.conf
    saved = {key: conf.get(key) for key in _CELERY_CONF}
    yield
    if _state.get_current_app() is not celery_app:
        celery_app.set_current()
    changed = [key for key, value in saved.items() if conf.get(key) != value]
    for key in changed:
        conf[key] = saved[key]
    if {"broker_write_url", "broker_transport_options"} & set(changed):
        # Pools made for the other broker: the next send connects afresh.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    queue.broker_retry_now()


@pytest.fixture(autouse=True, scope="session")
def _loopback_webhooks():
    """Webhook receivers in tests listen on 127.0.0.1, allowed as by `make run`."""
    from django.conf import settings

    settings.TALLY_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


@pytest.fixture(autouse=True, scope="session")
def _no_rate_limits():
    """Tests send bursts with one key; tests/core/test_rate_limits.py turns them on."""
    from django.conf import settings

    settings.TALLY_RATE_LIMIT_READ = settings.TALLY_RATE_LIMIT_WRITE = 0


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Hash test users' passwords with one cheap round instead of PBKDF2's million.

    Every ``admin_client``, ``admin_user`` and ``staff_page`` makes a user with a
    password (and a browser login checks it): at ~0.3 s of CPU a hash, hundreds of
    them were minutes of the run. What the tests check (permissions, logins, pages)
    does not depend on the hasher; production keeps Django's default.
    """
    from django.conf import settings
    from django.contrib.auth import hashers

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _no_persistent_connections():
    """Live-server threads must not keep connections open past the test database."""
    from django.db import connections

    for connection in connections.all():
        connection.settings_dict["CONN_MAX_AGE"] = 0


@pytest.fixture
def _django_db_helper(_django_db_helper):
    """Let SQLite empty finalized invoices and the credit ledger after a
    transactional test (PostgreSQL truncates, firing no row trigger).

    pytest-django empties the database of a transactional test when its database
    helper ends, which is just after this wrapper ends: the guard switch
    (``core.guards``) is turned off here, and back on when the next test starts.
    """
    guards.restore_guards()
    yield _django_db_helper
    guards.suspend_guards()


@pytest.fixture(autouse=True)
def _guards_on():
    guards.restore_guards()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start each test with an empty cache: the dashboard home keeps its figures
    a minute (``core.dashboard``), and a figure of another test's data would
    show."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def secret_key(db) -> str:
    _, secret = api_key_create(name="tests")
    return secret


@pytest.fixture
def api(secret_key) -> ApiClient:
    """A client for /v1 with a valid key; bodies are form-encoded like the SDK's."""
    return ApiClient(Client(), secret_key)


@pytest.fixture
def live_secret_key(transactional_db) -> str:
    _, secret = api_key_create(name="sdk tests")
    return secret


@pytest.fixture
def stripe_sdk(live_server, live_secret_key):
    """The official stripe module pointed at the live test server."""
    import stripe

    saved = (
        stripe.api_base,
        stripe.api_key,
        stripe.max_network_retries,
        stripe.meter_events_api_base,
    )
    stripe.api_base = live_server.url
    stripe.meter_events_api_base = live_server.url
    stripe.api_key = live_secret_key
    stripe.max_network_retries = 0
    yield stripe
    (
        stripe.api_base,
        stripe.api_key,
        stripe.max_network_retries,
        stripe.meter_events_api_base,
    ) = saved


@pytest.fixture
def stripe_client(live_server, live_secret_key):
    """A StripeClient (v1 and v2 services) pointed at the live test server."""
    import stripe

    return stripe.StripeClient(
        live_secret_key,
        base_addresses={"api": live_server.url, "meter_events": live_server.url},
        max_network_retries=0,
    )


@pytest.fixture
def browser(monkeypatch):
    """Headless Debian Chromium driven by Playwright."""
    # Playwright's sync API runs an event loop in the test thread; the ORM calls the
    # test itself makes are still synchronous, so Django must not refuse them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but /usr/bin/chromium is missing; .ci/run installs it")
        pytest.skip(
            "Chromium is not installed (apt-get install chromium); "
            "browser tests skipped"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM
            if os.path.exists(CHROMIUM)
            else shutil.which("chromium"),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
            ],
        )
        yield instance
        instance.close()
        # ORM connections opened while Playwright's loop ran live in its context;
        # close them here, or the test database cannot be dropped at the end.
        connections.close_all()


@pytest.fixture
def staff_page(browser, live_server, django_user_model):
    """A Playwright page logged in to the dashboard as staff."""
    django_user_model.objects.create_superuser(
        "staff", "staff@example.com", "pw-staff-123"
    )
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "pw-staff-123")
    page.click("input[type=submit]")
    yield page
    page.close()


@pytest.fixture
def usage_evaluated_by_jobs_only():
    """Usage committed queues no evaluation: the test runs the jobs itself."""
    from alerts import receivers
    from metering import signals

    signals.usage_recorded.disconnect(receivers.on_usage_recorded)
    yield
    signals.usage_recorded.connect(receivers.on_usage_recorded)

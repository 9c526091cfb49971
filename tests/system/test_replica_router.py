"""The replica router: which reads go to ``replica``, which stay on the primary.

The ``replica`` alias (tests/system/conftest.py) is a test mirror of the primary:
a second connection to the same test database, as ``TEST: {"MIRROR": "default"}``
makes it, so each read can be traced to the connection that ran it.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core import clock
from core.db import PIN_COOKIE, REPLICA, ReplicaRouter, replica_reads
from core.models import ApiKey, Customer
from core.services.portal import portal_session_create
from tests.core.factories import CustomerFactory

pytestmark = [
    # Before the database fixtures: SQLite has no ``replica`` alias to set up.
    pytest.mark.skipif(
        not settings.IS_POSTGRES, reason="the replica router is tested on PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True, databases=["default", REPLICA]),
]


@pytest.fixture(autouse=True)
def replica(settings):
    settings.DATABASE_REPLICA_URL = "(the test mirror of default)"


class Trace:
    """The SQL each connection ran, to tell which one served a read."""

    def __init__(self) -> None:
        self.primary = CaptureQueriesContext(connections["default"])
        self.replica = CaptureQueriesContext(connections[REPLICA])

    def __enter__(self):
        self.primary.__enter__()
        self.replica.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.replica.__exit__(*exc_info)
        self.primary.__exit__(*exc_info)

    @staticmethod
    def _reads(context, table: str) -> int:
        return sum(
            1
            for query in context.captured_queries
            if query["sql"].startswith("SELECT") and f'"{table}"' in query["sql"]
        )

    def on_primary(self, table: str) -> int:
        return self._reads(self.primary, table)

    def on_replica(self, table: str) -> int:
        return self._reads(self.replica, table)


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_superuser("staff", "s@x.test", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_reads_outside_a_scope_use_the_primary():
    """API requests, tasks and Beat jobs open no scope: they read the primary."""
    router = ReplicaRouter()
    assert router.db_for_read(Customer) == "default"
    with replica_reads():
        assert router.db_for_read(Customer) == REPLICA
    assert router.db_for_write(Customer) == "default"
    assert router.allow_migrate(REPLICA, "core") is False


def test_scope_reads_the_replica_until_something_is_written():
    CustomerFactory(name="Before")
    with Trace() as trace, replica_reads() as scope:
        assert Customer.objects.count() == 1
        assert trace.on_replica("core_customer") == 1
        CustomerFactory(name="Written here")
        assert scope.wrote
        # Read-your-writes: the new row is read back from the primary.
        assert Customer.objects.filter(name="Written here").exists()
    assert trace.on_replica("core_customer") == 1
    assert trace.on_primary("core_customer") == 1


def test_transactions_and_locks_stay_on_the_primary():
    customer = CustomerFactory()
    with Trace() as trace, replica_reads():
        with transaction.atomic():
            Customer.objects.get(pk=customer.pk)
            Customer.objects.select_for_update().get(pk=customer.pk)
    assert trace.on_replica("core_customer") == 0
    assert trace.on_primary("core_customer") == 2


def test_sessions_users_and_keys_stay_on_the_primary():
    router = ReplicaRouter()
    from django.contrib.auth.models import User
    from django.contrib.sessions.models import Session

    with replica_reads():
        for model in (Session, User, ApiKey):
            assert router.db_for_read(model) == "default"
        assert router.db_for_read(Customer) == REPLICA


def test_dashboard_list_reads_the_replica(staff):
    CustomerFactory(name="Replicated Ltd")
    with Trace() as trace:
        response = staff.get("/admin/core/customer/")
    assert response.status_code == 200
    assert b"Replicated Ltd" in response.content
    assert trace.on_replica("core_customer") >= 1
    assert trace.on_primary("core_customer") == 0
    # The staff member's session and user are read on the primary.
    assert trace.on_primary("django_session") == 1
    assert trace.on_replica("django_session") == 0
    assert PIN_COOKIE not in response.cookies


def test_detail_page_reads_the_replica(staff):
    """Django's admin reads a GET change form outside any transaction; its save, a
    POST, reads and writes the primary (see the next test)."""
    customer = CustomerFactory(name="Detail")
    # The first view stores the customer's access snapshot (a write, which keeps
    # the rest of that request on the primary); later views only read.
    staff.get(f"/admin/core/customer/{customer.pk}/change/")
    staff.cookies.pop(PIN_COOKIE, None)  # that write pinned the browser a moment
    with Trace() as trace:
        response = staff.get(f"/admin/core/customer/{customer.pk}/change/")
    assert response.status_code == 200
    assert trace.on_replica("core_customer") >= 1
    assert trace.on_primary("core_customer") == 0
    assert PIN_COOKIE not in response.cookies


def test_after_a_dashboard_write_the_browser_reads_the_primary(staff, settings):
    customer = CustomerFactory(name="Old name")
    response = staff.post(
        "/admin/core/customer/",
        {"action": "delete_selected", "_selected_action": [customer.pk]},
    )
    assert response.status_code == 200
    assert response.cookies[PIN_COOKIE]["max-age"] == (
        settings.DATABASE_REPLICA_PIN_SECONDS
    )
    with Trace() as trace:
        staff.get("/admin/core/customer/")
    assert trace.on_replica("core_customer") == 0
    assert trace.on_primary("core_customer") >= 1


def test_api_requests_read_the_primary(api):
    CustomerFactory()
    with Trace() as trace:
        response = api.get("/v1/customers")
    assert response.status_code == 200
    assert trace.on_replica("core_customer") == 0
    assert trace.on_primary("core_customer") >= 1


def test_customer_page_reads_the_replica_once_its_link_is_known():
    customer = CustomerFactory(name="Portal Customer")
    url = portal_session_create(customer=customer, now=clock.now()).url
    # Opening a link records it (a write): that request stays on the primary.
    first = Client().get(url)
    assert first.status_code == 200
    assert PIN_COOKIE in first.cookies
    with Trace() as trace:
        again = Client().get(url)
    assert again.status_code == 200
    assert b"Portal Customer" in again.content
    # The link itself is checked on the primary (it may be seconds old) ...
    assert trace.on_primary("core_portalsession") == 1
    assert trace.on_replica("core_portalsession") == 0
    # ... and the customer's data is read from the replica.
    assert PIN_COOKIE not in again.cookies
    assert trace.on_replica("core_customer") + trace.on_replica("billing_invoice") >= 1

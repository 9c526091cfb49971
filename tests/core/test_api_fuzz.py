"""No input makes the API answer 500, and every answer is what the OpenAPI document
says: schemathesis sends requests generated from Tally's own document, valid and not,
to every operation, and checks each response's status, content type and body against
the document (``core/api/schema.py`` states Stripe's conventions there).

Each operation runs against the demo data (``load_demo``), with the ids in its path
taken from it, so that requests reach the services rather than stopping at a 404.
Examples are derandomized: a failure here is the same failure on every run.
"""

from __future__ import annotations

import io

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.stateful.dependencies import inject_links

from alerts.models import ActiveEntitlement, UsageLimit
from billing.models import InvoiceItem, InvoiceLineItem, SubscriptionItem
from catalog.models import Feature, Price, Product, ProductFeature
from config.wsgi import application
from core.models import Customer, Event, TestClock, WebhookEndpoint
from core.services.api_keys import api_key_create
from credits.models import CreditBalanceTransaction, CreditGrant
from metering.models import Meter

# The coverage phase sends each operation's parameters with wrong types, missing,
# out of range (what found the 500s so far); its thousands of valid boundary cases
# are left to a wider run with ``st run`` (README, "Development").
_CONFIG = SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"generation": {"mode": "negative"}}}}
)
schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(public=True), config=_CONFIG
)
schema.app = application
# Scenarios that chain operations (create, then read, update, act on what was made),
# bounded for CI: the links between operations are inferred from the document (an
# id a response returns is the path parameter of another operation).
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 6


def _demo_ids() -> dict[str, str]:
    """An existing object for each path parameter of the API."""
    call_command("load_demo", stdout=io.StringIO())
    line = InvoiceLineItem.objects.exclude(invoice=None).first()
    item = SubscriptionItem.objects.first()
    firsts = {
        "meter_id": Meter.objects.filter(status="active"),
        "customer_id": Customer.objects.exclude(credit_grants=None),
        "product_id": Product.objects.filter(active=True).exclude(
            product_features=None
        ),
        "price_id": Price.objects.filter(active=True),
        "grant_id": CreditGrant.objects.all(),
        "transaction_id": CreditBalanceTransaction.objects.all(),
        "event_id": Event.objects.all(),
        "test_clock_id": TestClock.objects.all(),
        "endpoint_id": WebhookEndpoint.objects.all(),
        "invoice_item_id": InvoiceItem.objects.all(),
        "feature_id": Feature.objects.all(),
        "attached_id": ProductFeature.objects.all(),
        "entitlement_id": ActiveEntitlement.objects.all(),
        "limit_id": UsageLimit.objects.all(),
    }
    ids = {
        name: rows.order_by("pk").values_list("pk", flat=True).first()
        for name, rows in firsts.items()
    }
    ids.update(
        invoice_id=line.invoice_id,
        line_id=line.pk,
        subscription_id=item.subscription_id,
        item_id=item.pk,
    )
    return {name: value for name, value in ids.items() if value is not None}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, loaded once for the module in a transaction rolled back at its
    end; each operation's test (``db``) runs in a savepoint inside it."""
    # Requests go through the WSGI app itself, whose end-of-request hook would close
    # a connection in the middle of a transaction: as Django's test client does,
    # leave connections alone meanwhile.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock(), transaction.atomic():
        ids = _demo_ids()
        _, secret = api_key_create(name="fuzz")
        yield ids, {"Authorization": f"Bearer {secret}"}
        transaction.set_rollback(True)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    # No shrinking: the examples are derandomized, so a failure reported as found
    # is the same on every run, and CI does not spend minutes minimising it.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_request_is_answered_with_a_500(case, demo, db):
    ids, headers = demo
    for name in case.path_parameters or {}:
        key = "invoice_item_id" if "/invoiceitems/" in case.path else name
        if key in ids:
            case.path_parameters[name] = ids[key]
    case.call_and_validate(headers=headers, checks=CHECKS)


def _linked_schema():
    linked = schemathesis.openapi.from_dict(
        SchemaGenerator().get_schema(public=True), config=_CONFIG
    )
    linked.app = application
    assert inject_links(linked) > 100  # e.g. POST /v1/customers -> its id's routes
    return linked


def test_chained_requests_are_never_answered_with_a_500(demo, db):
    """Stateful phase: each scenario starts at an operation and follows the links
    (create a customer, then read, update, list its balance, delete it...)."""
    _, headers = demo
    calls = []

    class Workflow(_linked_schema().as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            calls.append((case.method, case.path, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kw):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kw)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    assert calls
    assert not [call for call in calls if call[2] >= 500]
    operations = {(method, path) for method, path, _ in calls}
    print(f"stateful: {len(calls)} calls over {len(operations)} operations")

"""Two workers evaluating one crossing at once act on it exactly once."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from alerts.models import UsageLimitCrossing
from alerts.services.limits import limits_evaluate
from alerts.services.usage_limits import usage_limit_create
from tests.alerts.factories import CustomerFactory, report
from tests.alerts.limits_helpers import d, features_of, make_plan, subscribe, summaries

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL row locks"),
    # The test races the evaluations itself: usage must wait for them.
    pytest.mark.usefixtures("usage_evaluated_by_jobs_only"),
]


def test_parallel_evaluations_cut_once():
    plan = make_plan()
    customer = CustomerFactory(invoice_prefix="PAR")
    subscribe(customer, plan.price)
    usage_limit_create(
        params={
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": "api",
            "usage": {"meter": plan.meter.pk, "gte": 100},
        },
        livemode=False,
        now=d(4, 2),
    )
    report(meter=plan.meter, customer=customer, value=150, now=d(4, 3))
    workers = 4
    barrier = threading.Barrier(workers)
    acted: list[int] = []

    def evaluate(customer_ids) -> None:
        try:
            barrier.wait()
            acted.append(limits_evaluate(now=d(4, 3, 1), customer_ids=customer_ids))
        finally:
            connection.close()

    # Beat's run and the ingestion trigger's, twice each.
    threads = [
        threading.Thread(target=evaluate, args=(ids,))
        for ids in (None, [customer.pk], None, [customer.pk])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(acted) == [0] * (workers - 1) + [1]
    assert UsageLimitCrossing.objects.count() == 1
    assert features_of(customer) == []
    assert summaries(customer) == [["api"], []]

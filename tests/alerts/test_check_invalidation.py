"""On PostgreSQL a committed snapshot change reaches every web process's check cache
by notification (``alerts.services.snapshot_listener``); without a connected
listener the short ``TALLY_CHECK_CACHE_SECONDS`` applies, as on SQLite."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from alerts.services import limits, snapshot_cache, snapshot_listener
from alerts.services.snapshot_cache import snapshot_vouched
from tests.alerts.limits_helpers import (
    checked_customer,
    checked_usage,
    make_plan,
)

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's"
)
# Generous: these are waits for a thread on a loaded machine, not timings.
_PATIENCE = 20.0


@pytest.fixture(autouse=True)
def _listener_reset():
    snapshot_listener.listener_stop()
    snapshot_cache.snapshot_drop_all()
    yield
    snapshot_listener.listener_stop()
    snapshot_cache.snapshot_drop_all()


@pytest.fixture
def plan():
    return make_plan()


@pytest.fixture
def customer(plan):
    return checked_customer(plan, "NOTIFY")


def _other_connection() -> psycopg.Connection:
    return psycopg.connect(**snapshot_listener._conninfo("default"), autocommit=True)


def _worker_rewrites(customer, value: int) -> None:
    """As a worker's evaluation would: another connection commits a new snapshot."""
    with _other_connection() as other:
        row = other.execute(
            "SELECT body FROM alerts_customeraccess WHERE customer_id = %s",
            [customer.pk],
        ).fetchone()
        body = row[0]
        body["usage"][0]["value"] = value
        other.execute(
            "UPDATE alerts_customeraccess SET body = %s, etag = %s"
            " WHERE customer_id = %s",
            [json.dumps(body), f"etag-{value}", customer.pk],
        )


def _eventually(condition) -> bool:
    deadline = time.monotonic() + _PATIENCE
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _listening(customer) -> None:
    """A first check starts the listener; wait until it vouches, then cache."""
    checked_usage(customer)
    assert _eventually(snapshot_vouched)
    assert checked_usage(customer) == 40
    with CaptureQueriesContext(connection) as queries:
        assert checked_usage(customer) == 40
    assert len(queries) == 0


# Both TTLs far beyond the test: only a notification can refresh an entry.
_LONG = {"TALLY_CHECK_CACHE_SECONDS": 300, "TALLY_CHECK_CACHE_MAX_SECONDS": 300}


@postgres_only
@override_settings(TALLY_CHECK_LISTEN=True, **_LONG)
def test_a_worker_s_committed_rewrite_reaches_the_next_check(customer):
    _listening(customer)
    _worker_rewrites(customer, 41)
    assert _eventually(lambda: checked_usage(customer) == 41)


@postgres_only
@override_settings(TALLY_CHECK_LISTEN=True, **_LONG)
def test_only_committed_rewrites_are_announced(customer, monkeypatch):
    heard = []
    drop = snapshot_listener._dropped_by
    monkeypatch.setattr(
        snapshot_listener, "_dropped_by", lambda p: (heard.append(p), drop(p))
    )
    _listening(customer)
    with _other_connection() as other, other.transaction():
        other.execute(
            "UPDATE alerts_customeraccess SET etag = 'pending' WHERE customer_id = %s",
            [customer.pk],
        )
        raise psycopg.Rollback
    _worker_rewrites(customer, 40)  # committed after the rollback: heard after it
    assert _eventually(lambda: heard)
    assert heard == [f"test:{customer.pk}"]


@postgres_only
@override_settings(TALLY_CHECK_LISTEN=True, **_LONG)
def test_a_notification_racing_a_miss_leaves_no_stale_entry(customer, monkeypatch):
    _listening(customer)
    snapshot_cache.snapshot_drop((False, customer.pk))  # the next check misses
    key = (False, customer.pk)
    read = limits.snapshot_read

    def read_then_rewritten(**kwargs):
        stale = read(**kwargs)  # read before the worker's commit ...
        dropped_before = snapshot_cache._dropped.get(key, 0)
        _worker_rewrites(customer, 41)  # ... whose notification lands before the store
        assert _eventually(lambda: snapshot_cache._dropped.get(key, 0) > dropped_before)
        return stale

    monkeypatch.setattr(limits, "snapshot_read", read_then_rewritten)
    assert checked_usage(customer) == 40  # the miss answers what it read ...
    monkeypatch.setattr(limits, "snapshot_read", read)
    assert key not in snapshot_cache._recent  # ... but did not keep it
    assert checked_usage(customer) == 41


@postgres_only
@override_settings(
    TALLY_CHECK_LISTEN=True,
    TALLY_CHECK_CACHE_SECONDS=0.05,
    TALLY_CHECK_CACHE_MAX_SECONDS=300,
)
def test_with_the_listener_down_the_short_ttl_applies(customer, monkeypatch):
    monkeypatch.setattr(snapshot_listener, "_RETRY_SECONDS", 300.0)
    checked_usage(customer)
    assert _eventually(snapshot_vouched)
    with _other_connection() as other:
        other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'tally-snapshot-listener'"
            " AND datname = current_database()"
        )
    assert _eventually(lambda: not snapshot_vouched())
    assert checked_usage(customer) == 40
    _worker_rewrites(customer, 41)  # announced, but nobody listens
    time.sleep(0.06)
    assert checked_usage(customer) == 41


@override_settings(TALLY_CHECK_LISTEN=False, **_LONG)
def test_listening_off_starts_no_listener(customer):
    assert checked_usage(customer) == 40
    assert snapshot_listener._thread is None
    assert not snapshot_vouched()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's behaviour")
@override_settings(
    TALLY_CHECK_LISTEN=True,
    TALLY_CHECK_CACHE_SECONDS=0.05,
    TALLY_CHECK_CACHE_MAX_SECONDS=300,
)
def test_sqlite_keeps_the_short_ttl(customer):
    assert checked_usage(customer) == 40
    assert snapshot_listener._thread is None
    assert not snapshot_vouched()
    from alerts.models import CustomerAccess

    row = CustomerAccess.objects.get(customer=customer)
    body = {**row.body, "usage": [{**row.body["usage"][0], "value": 41}]}
    CustomerAccess.objects.filter(pk=row.pk).update(body=body)
    assert checked_usage(customer) == 40
    time.sleep(0.06)
    assert checked_usage(customer) == 41

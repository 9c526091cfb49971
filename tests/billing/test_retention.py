"""Archiving months of meter events (``billing.retention``): never an unbilled one."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from billing.models import Invoice
from billing.retention import RetentionRefused, archivable, meter_events_archive
from billing.services import subscription_create
from metering.models import MeterEvent, MeterUsageRollup
from metering.storage import EventRow, events_write, partitions, postgres
from tests.billing.factories import CustomerFactory, MeterFactory, PriceFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="partitions are PostgreSQL's"),
]

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
JUN, JUL, AUG, SEP, OCT, NOV = (
    datetime(2026, month, 1, tzinfo=UTC) for month in (6, 7, 8, 9, 10, 11)
)


@pytest.fixture
def partitioned():
    """Events partitioned for this test (the rollback undoes it)."""
    if not partitions.is_partitioned():
        partitions.convert(now=NOW)
    postgres.partitioned.cache_clear()
    yield
    postgres.partitioned.cache_clear()


@pytest.fixture
def usage(partitioned):
    """Three events in each of August to November."""
    meter, customer = MeterFactory(), CustomerFactory()
    rows = [
        EventRow(
            meter_id=meter.pk,
            customer_id=customer.pk,
            event_name=meter.event_name,
            identifier=f"{month:%m}-{n}",
            value=Decimal(n + 1),
            timestamp=month + timedelta(days=n, hours=3),
            created=month + timedelta(days=n, hours=3),
            livemode=False,
            dimensions=None,
        )
        for month in (AUG, SEP, OCT, NOV)
        for n in range(3)
    ]
    events_write(rows)
    partitions.partitions_ensure(now=AUG, ahead=4)
    return meter, customer, rows


def _subscribe(customer, at: datetime):
    return subscription_create(
        customer=customer,
        params={"items": [{"price": PriceFactory().pk}]},
        now=at,
    )


def test_months_before_every_unbilled_period_are_archived_and_dropped(usage, tmp_path):
    meter, customer, rows = usage
    _subscribe(customer, NOV + timedelta(days=14))
    rollups = MeterUsageRollup.objects.filter(meter=meter).count()

    files = meter_events_archive(through=OCT, directory=tmp_path, now=NOW)

    assert [path.name for path in files] == [
        "metering_meterevent_p2026_06.csv.gz",
        "metering_meterevent_p2026_07.csv.gz",
        "metering_meterevent_p2026_08.csv.gz",
        "metering_meterevent_p2026_09.csv.gz",
        "metering_meterevent_p2026_10.csv.gz",
    ]
    with gzip.open(files[2], "rt", newline="") as archive:
        lines = list(csv.DictReader(archive))
    assert sorted(line["identifier"] for line in lines) == ["08-0", "08-1", "08-2"]
    assert sum(Decimal(line["value"]) for line in lines) == Decimal(6)
    remaining = {partition.start for partition in partitions.partitions()}
    assert not remaining & {JUN, JUL, AUG, SEP, OCT}
    assert NOV in remaining
    assert sorted(MeterEvent.objects.values_list("identifier", flat=True)) == [
        "11-0",
        "11-1",
        "11-2",
    ]
    # Summaries keep reading the rollups; an archived identifier stays a duplicate.
    assert MeterUsageRollup.objects.filter(meter=meter).count() == rollups
    assert events_write([rows[0]._replace(timestamp=NOW)]) == {}


def test_a_month_in_a_subscriptions_current_period_is_refused(usage, tmp_path):
    _, customer, _ = usage
    subscription = _subscribe(customer, OCT + timedelta(days=20))

    with pytest.raises(
        RetentionRefused, match=f"2026-10 may still be billed.*{subscription.id}"
    ):
        meter_events_archive(through=OCT, directory=tmp_path, now=NOW)

    # Nothing was written or dropped: the rule is checked for every month first.
    assert list(tmp_path.iterdir()) == []
    assert {AUG, SEP, OCT} <= {p.start for p in partitions.partitions()}
    assert [p.start for p in archivable(through=SEP, now=NOW)] == [JUN, JUL, AUG, SEP]


def test_a_period_starting_at_a_months_end_leaves_that_month_archivable(usage):
    _, customer, _ = usage
    _subscribe(customer, NOV)
    assert [p.start for p in archivable(through=OCT, now=NOW)] == [
        JUN,
        JUL,
        AUG,
        SEP,
        OCT,
    ]
    with pytest.raises(RetentionRefused, match="2026-11"):
        archivable(through=NOV, now=NOW)


def test_a_draft_invoices_period_is_refused(usage):
    _, customer, _ = usage
    Invoice.objects.create(
        customer=customer,
        currency="usd",
        period_start=SEP + timedelta(days=3),
        period_end=OCT + timedelta(days=3),
    )
    with pytest.raises(RetentionRefused, match="draft invoice"):
        archivable(through=SEP, now=NOW)
    assert [p.start for p in archivable(through=AUG, now=NOW)] == [JUN, JUL, AUG]


def test_an_ended_subscription_holds_nothing_back(usage):
    _, customer, _ = usage
    subscription = _subscribe(customer, SEP)
    subscription.ended_at = subscription.canceled_at = OCT
    subscription.status = "canceled"
    subscription.save()
    assert [p.start for p in archivable(through=NOV, now=NOW)] == [
        JUN,
        JUL,
        AUG,
        SEP,
        OCT,
        NOV,
    ]


def test_the_current_month_is_never_archived(usage):
    with pytest.raises(RetentionRefused, match="2026-12 is the current month or later"):
        archivable(through=datetime(2026, 12, 1, tzinfo=UTC), now=NOW)


def test_unpartitioned_events_are_refused():
    postgres.partitioned.cache_clear()
    if partitions.is_partitioned():
        partitions.revert()
    with pytest.raises(RetentionRefused, match="not partitioned"):
        archivable(through=AUG, now=NOW)


def test_the_command_refuses_with_the_reason_and_archives_otherwise(
    usage, tmp_path, capsys
):
    _, customer, _ = usage
    _subscribe(customer, OCT + timedelta(days=2))
    with pytest.raises(CommandError, match="2026-10 may still be billed"):
        call_command(
            "meter_events_archive", "--through", "2026-10", "--to", str(tmp_path)
        )
    call_command("meter_events_archive", "--through", "2026-09", "--dry-run")
    assert capsys.readouterr().out.split() == [
        "2026-06",
        "metering_meterevent_p2026_06",
        "2026-07",
        "metering_meterevent_p2026_07",
        "2026-08",
        "metering_meterevent_p2026_08",
        "2026-09",
        "metering_meterevent_p2026_09",
    ]
    call_command(
        "meter_events_archive", "--through", "2026-06", "--to", str(tmp_path), "--keep"
    )
    assert (tmp_path / "metering_meterevent_p2026_06.csv.gz").exists()
    assert JUN in {p.start for p in partitions.partitions()}
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("meter_events_archive", "--through", "August")

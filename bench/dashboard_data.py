"""The staff dashboard benchmark's data: customers, subscriptions, invoices, events.

Each table is filled by cloning one row made through the ORM (so every column has
the value Django would give it) with ``INSERT … SELECT … FROM generate_series``:
the server makes the rows, as a COPY would load them, a million at a time. The
guard triggers (finalized invoices refuse new lines) are set aside for the load
with ``session_replication_role = replica``: the rows are final from the start;
the revenue months those triggers would have kept are counted afterwards.
Loaded once per data directory; a run finds them by the ``bench_dashboard``
metadata of the template customer.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import Decimal

from bench import support

CHUNK = 1_000_000
PRODUCTS = 5
MARK = {"bench_dashboard": "template"}


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = %s ORDER BY ordinal_position",
        [table],
    )
    return [name for (name,) in cursor.fetchall()]


def clone(cursor, table: str, template_id, count: int, overrides: dict, *, start=0):
    """Insert ``count`` copies of one row, ``overrides`` (column → SQL over ``i``,
    the copy's number from ``start``) replacing its columns; in chunks."""
    columns = _columns(cursor, table)
    select = ", ".join(overrides.get(column, f"t.{column}") for column in columns)
    select = select.replace("%", "%%")  # the modulo operator, not a placeholder
    for offset in range(start, start + count, CHUNK):
        upto = min(offset + CHUNK, start + count)
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select}"
            f" FROM {table} t, generate_series(%s::bigint, %s::bigint) AS i"
            " WHERE t.id = %s",
            [offset, upto - 1, template_id],
        )
        cursor.connection.commit()
        print(f"   {table}: {upto - start:,} of {count:,}", flush=True)


def _templates(now: datetime) -> dict:
    """One row of each table, through the ORM; ids of what the clones point at."""
    from django.db import transaction

    with transaction.atomic():
        return _template_rows(now)


def _template_rows(now: datetime) -> dict:
    from billing.models import Invoice, InvoiceLineItem, Subscription, SubscriptionItem
    from catalog.services import price_create, product_create
    from core.models import Customer, Event
    from credits.models import CreditBalanceTransaction, CreditGrant

    customer = Customer.objects.create(
        name="Template", email="template@bench.example", metadata=MARK
    )
    prices = []
    for index in range(PRODUCTS):
        meter = support.sum_meter(f"bench_dash_{index}", f"Dashboard units {index}")
        product = product_create(params={"name": f"Bench product {index}"})
        licensed = price_create(
            params={
                "product": product.id,
                "currency": "usd",
                "unit_amount_decimal": Decimal(4900),
                "recurring": {"interval": "month", "usage_type": "licensed"},
            }
        )
        metered = price_create(
            params={
                "product": product.id,
                "currency": "usd",
                "unit_amount_decimal": Decimal("0.5"),
                "recurring": {
                    "interval": "month",
                    "usage_type": "metered",
                    "meter": meter.id,
                },
            }
        )
        prices.append((licensed.id, metered.id, meter.id))
    start = now - timedelta(days=3)
    subscription = Subscription.objects.create(
        customer=customer,
        status="active",
        currency="usd",
        interval="month",
        interval_count=1,
        billing_cycle_anchor=start,
        anchor_day=start.day,
        start_date=start,
        current_period_start=start,
        current_period_end=start + timedelta(days=30),
    )
    item = SubscriptionItem.objects.create(
        subscription=subscription,
        price_id=prices[0][0],
        quantity=1,
        current_period_start=start,
        current_period_end=start + timedelta(days=30),
    )
    invoice = Invoice.objects.create(
        customer=customer,
        subscription=subscription,
        status="draft",
        billing_reason="manual",
        collection_method="send_invoice",
        currency="usd",
        period_start=start,
        period_end=start,
    )
    line = InvoiceLineItem.objects.create(
        invoice=invoice,
        position=0,
        kind="licensed",
        amount=4900,
        currency="usd",
        description="Template line",
        period_start=start,
        period_end=start,
        price_id=prices[0][0],
        quantity=1,
        created=start,
    )
    grant = CreditGrant.objects.create(
        customer=customer,
        name="Bench credits",
        amount=10_000,
        balance=10_000,
        currency="usd",
        category="promotional",
        status="active",
        scope_price_type="metered",
        effective_at=start,
    )
    entry = CreditBalanceTransaction.objects.create(
        credit_grant=grant,
        customer=customer,
        type="credit",
        kind="credits_granted",
        amount=10_000,
        currency="usd",
        effective_at=start,
    )
    event = Event.objects.create(
        type="invoice.finalized", api_version="2025-03-31", data={}, object_id="in_x"
    )
    return {
        "customer": customer.id,
        "prices": prices,
        "subscription": subscription.id,
        "item": item.id,
        "invoice": invoice.id,
        "line": line.id,
        "grant": grant.id,
        "entry": entry.id,
        "event": event.id,
    }


def _id(prefix: str, offset: int = 0) -> str:
    """A clone's id: the prefix and its number, zero-padded so ids sort by it."""
    return f"'{prefix}_bench' || lpad((i + {offset})::text, 9, '0')"


def load(*, customers: int, invoices: int, events: int, now: datetime) -> dict:
    """Fill the tables (unless a previous run did); the sizes and ids to visit."""
    from django.db import connection

    from billing.revenue import revenue_months_rebuild
    from core.models import Customer

    found = Customer.objects.filter(metadata__bench_dashboard="loaded").first()
    if found is not None:
        return found.metadata["bench_ids"]
    if Customer.objects.filter(metadata__bench_dashboard="template").exists():
        raise SystemExit(
            "An interrupted load left its rows: remove the bench's data directory"
            " (TALLY_BENCH_PGDATA) and run again."
        )
    started = time.perf_counter()
    ids = _templates(now)
    per_customer = invoices // customers
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        _load_rows(cursor, ids, customers, per_customer, events, now)
        cursor.execute("SET session_replication_role = DEFAULT")
        for _, _, meter_id in ids["prices"]:
            support.rollups_rebuild(raw, cursor, meter_id)  # the hour totals too
    # The invoices went in with the triggers set aside: count their months now.
    revenue_months_rebuild()
    with raw.cursor() as cursor:
        for table in (
            "core_customer",
            "billing_subscription",
            "billing_subscriptionitem",
            "billing_invoice",
            "billing_invoicelineitem",
            "credits_creditgrant",
            "credits_creditbalancetransaction",
            "core_event",
            "billing_revenuemonth",
            "billing_usagerevenuemonth",
            "metering_meterhourtotal",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    ids.update(
        customers=customers,
        invoices=per_customer * customers,
        events=events,
        load_seconds=round(time.perf_counter() - started, 1),
    )
    Customer.objects.filter(id=ids["customer"]).update(
        metadata={"bench_dashboard": "loaded", "bench_ids": ids}
    )
    return ids


def _load_rows(cursor, ids, customers, per_customer, events, now) -> None:
    prices = ids["prices"]
    n = len(prices)
    customer = _id("cus")
    start = now - timedelta(days=400)
    span = (now - start).total_seconds()
    price_of = "(ARRAY[{}])[1 + i % {}]"
    licensed = price_of.format(", ".join(f"'{p[0]}'" for p in prices), n)
    metered = price_of.format(", ".join(f"'{p[1]}'" for p in prices), n)
    meters = price_of.format(", ".join(f"'{p[2]}'" for p in prices), n)
    at = f"'{now.isoformat()}'::timestamptz"
    clone(
        cursor,
        "core_customer",
        ids["customer"],
        customers,
        {
            "id": customer,
            "name": "'Customer ' || i",
            "email": "'customer' || i || '@bench.example'",
            "metadata": "'{}'::jsonb",
            "invoice_prefix": "'B' || upper(to_hex(i + 4096))",
            "created": f"{at} - make_interval(secs => 400 * 86400 - i)",
        },
    )
    clone(
        cursor,
        "billing_subscription",
        ids["subscription"],
        customers,
        {"id": _id("sub"), "customer_id": customer},
    )
    for position, (price, offset) in enumerate(((licensed, 0), (metered, customers))):
        clone(
            cursor,
            "billing_subscriptionitem",
            ids["item"],
            customers,
            {
                "id": _id("si", offset),
                "subscription_id": _id("sub"),
                "price_id": price,
                "position": str(position),
                "quantity": "1 + i % 5" if position == 0 else "NULL",
            },
        )
    _load_invoices(cursor, ids, customers, per_customer, at, span, licensed, metered)
    clone(
        cursor,
        "credits_creditgrant",
        ids["grant"],
        customers,
        {"id": _id("credgr"), "customer_id": customer},
    )
    clone(
        cursor,
        "credits_creditbalancetransaction",
        ids["entry"],
        customers,
        {"id": _id("cbtxn"), "credit_grant_id": _id("credgr"), "customer_id": customer},
    )
    step = span / (customers * per_customer)
    clone(
        cursor,
        "core_event",
        ids["event"],
        customers * per_customer,
        {
            "id": _id("evt"),
            "object_id": _id("in"),
            "created": f"{at} - make_interval(secs => (i * {step})::float8)",
        },
    )
    _load_events(cursor, customers, events, at, meters)


def _load_invoices(cursor, ids, customers, per_customer, at, span, licensed, metered):
    """``per_customer`` invoices each, spread over 400 days: most paid, some open
    (a few past due), void or draft; two lines each (seats and usage)."""
    total = customers * per_customer
    step = span / total
    created = f"{at} - make_interval(secs => (i * {step})::float8)"
    # The newest 3 % hold the drafts (one in ten), the newest 9 % are open.
    draft = f"i < {total * 3 // 100} AND i % 10 = 0"
    paid = f"i >= {total * 9 // 100} AND i % 20 <> 1"
    status = (
        f"CASE WHEN {draft} THEN 'draft' WHEN i % 20 = 1 THEN 'void'"
        f" WHEN {paid} THEN 'paid' ELSE 'open' END"
    )
    amount = "4900 + (i % 997) * 10"
    clone(
        cursor,
        "billing_invoice",
        ids["invoice"],
        total,
        {
            "id": _id("in"),
            "customer_id": f"'cus_bench' || lpad((i % {customers})::text, 9, '0')",
            "subscription_id": f"'sub_bench' || lpad((i % {customers})::text, 9, '0')",
            "status": status,
            "number": f"CASE WHEN {draft} THEN NULL ELSE 'B-' || i END",
            "created": created,
            "period_start": created,
            "period_end": created,
            "finalized_at": f"CASE WHEN {draft} THEN NULL ELSE {created} END",
            "due_date": f"{created} + interval '30 days'",
            "paid_at": f"CASE WHEN {paid} THEN {created} + interval '2 days' END",
            "subtotal": amount,
            "total": amount,
            "amount_due": amount,
            "amount_paid": f"CASE WHEN {paid} THEN {amount} ELSE 0 END",
            "amount_remaining": f"CASE WHEN {paid} THEN 0 ELSE {amount} END",
        },
    )
    for position, (kind, price, amount) in enumerate(
        (("licensed", licensed, "4900"), ("metered", metered, "(i % 997) * 10"))
    ):
        clone(
            cursor,
            "billing_invoicelineitem",
            ids["line"],
            total,
            {
                "id": _id(f"il{position}"),
                "invoice_id": _id("in"),
                "position": str(position),
                "kind": f"'{kind}'",
                "price_id": price,
                "amount": amount,
                "quantity": "1" if position == 0 else "(i % 997) * 20",
                "created": created,
            },
        )


def _load_events(cursor, customers, events, at, meters) -> None:
    """Meter events of the last 30 days, every customer, the five meters."""
    step = 30 * 86400 / max(events, 1)
    moment = f"{at} - make_interval(secs => (i * {step})::float8)"
    customer = f"'cus_bench' || lpad(((i * 7919) %% {customers})::text, 9, '0')"
    for offset in range(0, events, CHUNK):
        upto = min(offset + CHUNK, events)
        cursor.execute(
            "INSERT INTO metering_meterevent (meter_id, customer_id, event_name,"
            " identifier, value, timestamp, created, livemode)"
            f" SELECT m.id, {customer}, m.event_name, 'dash-' || i,"
            f" 1 + (i * 31) %% 100, {moment}, {moment} + interval '2 seconds',"
            " false"
            f" FROM generate_series(%s::bigint, %s::bigint) AS i"
            f" JOIN metering_meter m ON m.id = {meters.replace('%', '%%')}",
            [offset, upto - 1],
        )
        cursor.connection.commit()
        print(f"   meter events: {upto:,} of {events:,}", flush=True)

"""manage.py import_meter_events: NDJSON, CSV, stdin, rejects, re-runs."""

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command

from metering import selectors
from metering.models import MeterEvent
from tests.metering.factories import CustomerFactory, MeterFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_meter_events", *args, "--no-progress", stdout=out)
    return out.getvalue()


def usage(meter, customer):
    return selectors.meter_usage_for_period(
        meter=meter, customer_id=customer.id, start=NOW - timedelta(days=30), end=NOW
    )


def ndjson(tmp_path, lines, name="events.ndjson"):
    path = tmp_path / name
    path.write_text(
        "".join(
            (line if isinstance(line, str) else json.dumps(line)) + "\n"
            for line in lines
        )
    )
    return path


def rejected(path):
    """The rows of the rejects file an import of ``path`` wrote."""
    rejects = path.with_name(path.name + ".rejects.ndjson")
    return [json.loads(row) for row in rejects.read_text().splitlines()]


def line(customer, value, **extra):
    return {
        "event_name": "tokens",
        "payload": {"stripe_customer_id": customer.id, "value": str(value)},
        "timestamp": int((NOW - timedelta(hours=1)).timestamp()),
        **extra,
    }


def test_ndjson_import_with_rejects(tmp_path, meter, customer):
    path = ndjson(
        tmp_path,
        [
            line(customer, 5, identifier="a"),
            line(customer, 7),
            "{not json",
            line(customer, "1.5"),
            line(customer, 9, timestamp="2026-05-01T10:30:00Z"),
            "",
            line({"id": "cus_x"} and customer, 1, event_name="unknown"),
        ],
    )
    output = run(str(path), "--batch-size", "2")
    assert "Accepted 3, already imported 0, rejected 3." in output
    assert usage(meter, customer) == Decimal(21)
    rejects = rejected(tmp_path / "events.ndjson")
    assert [(row["line"], row["error"]["code"]) for row in rejects] == [
        (3, "invalid_body"),
        (4, "payload_invalid_value"),
        (7, "no_meter"),
    ]
    assert rejects[1]["error"]["param"] == "payload[value]"
    assert rejects[1]["input"] == json.dumps(line(customer, "1.5"))


def test_rerunning_adds_nothing_twice(tmp_path, meter, customer):
    path = ndjson(tmp_path, [line(customer, 5), line(customer, 5), line(customer, 6)])
    assert "Accepted 3, already imported 0" in run(str(path))
    assert "Accepted 0, already imported 3, rejected 0." in run(str(path))
    assert MeterEvent.objects.count() == 3
    # Identical lines get different identifiers: their line numbers differ.
    assert len(set(MeterEvent.objects.values_list("identifier", flat=True))) == 3
    assert usage(meter, customer) == Decimal(16)
    # A grown file imports only its new lines.
    with path.open("a") as handle:
        handle.write(json.dumps(line(customer, 100)) + "\n")
    assert "Accepted 1, already imported 3" in run(str(path))


def test_csv_import(tmp_path, meter, customer):
    path = tmp_path / "events.csv"
    path.write_text(
        "event_name,identifier,timestamp,stripe_customer_id,value,model\n"
        f"tokens,c1,{int((NOW - timedelta(hours=2)).timestamp())},{customer.id},10,x\n"
        f"tokens,,2026-05-01T11:00:00+00:00,{customer.id},20,\n"
        f"tokens,c3,,{customer.id},oops,\n"
    )
    output = run(str(path))
    assert "Accepted 2, already imported 0, rejected 1." in output
    assert usage(meter, customer) == Decimal(30)
    assert MeterEvent.objects.get(identifier="c1").dimensions == {"model": "x"}
    reject = json.loads((tmp_path / "events.csv.rejects.ndjson").read_text())
    assert reject["line"] == 4
    assert reject["error"]["code"] == "payload_invalid_value"


def test_timestamps_of_odd_digits_are_refused(tmp_path, meter, customer):
    """ "¹" is a digit to str.isdigit but not to int(); thousands of digits are more
    than int() reads: each line is refused with the reason, the rest imported."""
    path = ndjson(
        tmp_path,
        [
            line(customer, 1, timestamp="¹"),
            line(customer, 2, timestamp="9" * 5000),
            line(customer, 3, timestamp=" 0" + str(int(NOW.timestamp()) - 60)),
        ],
    )
    assert "Accepted 1, already imported 0, rejected 2." in run(str(path))
    assert usage(meter, customer) == Decimal(3)
    rejects = rejected(tmp_path / "events.ndjson")
    assert [(row["line"], row["error"]["param"]) for row in rejects] == [
        (1, "timestamp"),
        (2, "timestamp"),
    ]
    assert "out of range" in rejects[1]["error"]["message"]


def test_lines_with_a_nul_character_are_refused(tmp_path, meter, customer):
    """PostgreSQL keeps no NUL in text: such lines are refused with the reason, and
    the rest of their batch is imported."""
    path = ndjson(
        tmp_path,
        [
            line(customer, 1, identifier="a\x00"),
            line(customer, 2, identifier="ok"),
            {**line(customer, 3), "event_name": "tokens\x00"},
        ],
    )
    assert "Accepted 1, already imported 0, rejected 2." in run(str(path))
    assert usage(meter, customer) == Decimal(2)
    assert [(row["line"], row["error"]["param"]) for row in rejected(path)] == [
        (1, "identifier"),
        (3, "event_name"),
    ]


def test_csv_needs_an_event_name_column(tmp_path, meter):
    path = tmp_path / "bad.csv"
    path.write_text("name,value\nx,1\n")
    with pytest.raises(CommandError, match="event_name"):
        run(str(path))


def test_stdin(monkeypatch, tmp_path, meter, customer):
    data = "".join(json.dumps(line(customer, v)) + "\n" for v in (1, 2, 3)).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    rejects = tmp_path / "stdin.rejects"
    output = run("-", "--rejects", str(rejects))
    assert "Accepted 3, already imported 0, rejected 0." in output
    assert usage(meter, customer) == Decimal(6)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert "Accepted 0, already imported 3" in run("-", "--rejects", str(rejects))
    assert not rejects.exists()


def test_stale_rejects_file_is_removed(tmp_path, meter, customer):
    path = ndjson(tmp_path, [line(customer, "x")])
    run(str(path))
    rejects = tmp_path / "events.ndjson.rejects.ndjson"
    assert rejects.exists()
    path.write_text(json.dumps(line(customer, 1)) + "\n")
    run(str(path))
    assert not rejects.exists()


def test_missing_file(db):
    with pytest.raises(CommandError, match="No such file"):
        run("/nonexistent/events.ndjson")


@pytest.mark.skipif(
    not settings.IS_POSTGRES, reason="worker processes are used on PostgreSQL only"
)
@pytest.mark.django_db(transaction=True)
def test_parallel_workers(tmp_path):
    meter = MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    lines = [line(customer, 1, identifier=f"w-{index}") for index in range(50)]
    lines.insert(10, line(customer, "bad"))
    path = ndjson(tmp_path, lines)
    output = run(str(path), "--workers", "2", "--batch-size", "7")
    assert "Accepted 50, already imported 0, rejected 1." in output
    assert usage(meter, customer) == Decimal(50)
    assert "Accepted 0, already imported 50, rejected 1." in run(
        str(path), "--workers", "2", "--batch-size", "7"
    )


def test_lines_that_only_parse_together_are_refused(tmp_path, meter, customer):
    """One json.loads parses a chunk: a line must still be JSON on its own."""
    good = json.dumps(line(customer, 4, identifier="good"))
    path = tmp_path / "tricky.ndjson"
    path.write_text(
        "\n".join(
            [
                good[:-1] + ', "x": [1',  # borrows the next line's bracket...
                '2]}, {"event_name": "tokens"}',  # ...and gives one more object
                good,
            ]
        )
        + "\n"
    )
    assert "Accepted 1, already imported 0, rejected 2." in run(str(path))
    rejects = (tmp_path / "tricky.ndjson.rejects.ndjson").read_text().splitlines()
    assert [json.loads(row)["error"]["code"] for row in rejects] == [
        "invalid_body",
        "invalid_body",
    ]


def test_blank_lines_and_crlf(tmp_path, meter, customer):
    path = tmp_path / "windows.ndjson"
    text = (
        json.dumps(line(customer, 2))
        + "\r\n\r\n   \r\n"
        + json.dumps(line(customer, 3))
    )
    path.write_bytes(text.encode())
    assert "Accepted 2, already imported 0, rejected 0." in run(str(path))
    # Identifiers derive from line number and text without its line end.
    from metering.imports import derived_identifier

    assert set(MeterEvent.objects.values_list("identifier", flat=True)) == {
        derived_identifier(1, json.dumps(line(customer, 2))),
        derived_identifier(4, json.dumps(line(customer, 3))),
    }


def test_large_batches_and_a_rerun_of_them(tmp_path, meter, customer):
    """Batches from 1,000 events go in by COPY; a re-run finds them stored."""
    lines = [line(customer, 1, identifier=f"big-{index}") for index in range(1500)]
    lines.insert(700, line(customer, "x"))
    path = ndjson(tmp_path, lines)
    assert "Accepted 1500, already imported 0, rejected 1." in run(str(path))
    lines.append(line(customer, 5, identifier="big-new"))
    path = ndjson(tmp_path, lines)
    assert "Accepted 1, already imported 1500, rejected 1." in run(str(path))
    assert usage(meter, customer) == Decimal(1505)


@pytest.mark.django_db(transaction=True)
def test_one_worker_stores_chunks_in_order(tmp_path):
    """Outside a transaction one worker stores chunk after chunk: refusals at
    their lines, in either mode."""
    meter = MeterFactory(event_name="tokens")
    customer = CustomerFactory()
    live_meter = MeterFactory(event_name="tokens", livemode=True)
    live_customer = CustomerFactory(livemode=True)
    lines = [line(customer, 2, identifier=f"p-{index}") for index in range(40)]
    lines.insert(17, line(customer, "bad"))
    lines.insert(30, line(live_customer, 1, identifier="only-live"))
    path = ndjson(tmp_path, lines)
    assert "Accepted 40, already imported 0, rejected 2." in run(
        str(path), "--batch-size", "6"
    )
    assert [row["line"] for row in rejected(path)] == [18, 31]
    assert usage(meter, customer) == Decimal(80)
    live = run(str(path), "--batch-size", "6", "--live")
    assert "Accepted 1, already imported 0, rejected 41." in live
    assert MeterEvent.objects.get(identifier="only-live").meter_id == live_meter.id
    assert "Accepted 0, already imported 40, rejected 2." in run(
        str(path), "--batch-size", "6"
    )

"""The benchmark results writer: every figure, its reference and ratio, the load."""

from __future__ import annotations

import json
import time

from bench import results


def test_results_files_carry_figures_references_and_conditions(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_JSON", tmp_path / "results.json")
    monkeypatch.setattr(results, "RESULTS_MD", tmp_path / "RESULTS.md")
    rows = [
        ("ingest", "raw COPY into the events table (rows/s)", 122_500.0),
        ("ingest", "bulk import, 1 worker(s), % of COPY", 63.4),
        ("billing", "subscriptions", 10_000),
        ("webhooks", "ordered", "yes"),
    ]
    results.write(
        rows,
        database="private server",
        arguments=["--quick", "ingest"],
        started=time.time() - 5,
        load_before=(0.5, 0.4, 0.3),
    )
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["arguments"] == ["--quick", "ingest"]
    assert written["load average before (1, 5, 15 min)"] == [0.5, 0.4, 0.3]
    assert len(written["load average after (1, 5, 15 min)"]) == 3
    assert written["date"].endswith("+00:00")
    ratio = written["figures"][1]
    assert (ratio["reference"], ratio["ratio"]) == ("COPY", "63.4 %")
    assert written["figures"][0]["reference"] == ""
    assert [f["value"] for f in written["figures"]] == [122_500.0, 63.4, 10_000, "yes"]

    table = (tmp_path / "RESULTS.md").read_text()
    assert (
        "| ingest | bulk import, 1 worker(s), % of COPY | 63.4 | COPY | 63.4 % |"
        in (table)
    )
    assert "| billing | subscriptions | 10,000 |  |  |" in table
    assert "- load average before (1, 5, 15 min): [0.5, 0.4, 0.3]" in table


def test_every_target_of_issue_19_has_a_row_measured_or_not(tmp_path, monkeypatch):
    from bench import targets

    monkeypatch.setattr(results, "RESULTS_JSON", tmp_path / "results.json")
    monkeypatch.setattr(results, "RESULTS_MD", tmp_path / "RESULTS.md")
    rows = [
        ("ingest", "bulk import, 1 worker(s) (events/s)", 90_000.0),
        ("ingest", "bulk import, 1 worker(s), % of COPY", 88.0),
        ("ingest", "v2 stream (100/call): events/s measured", 40_000.0),
        ("ingest", "v2 stream (100/call): % of COPY", 31.0),
        ("growth", "ingest, bulk (events/s) @ 1,000,000 events", 90_000.0),
        ("growth", "ingest, bulk (events/s) @ 10,000,000 events", 85_000.0),
        ("growth", "ingest, bulk (events/s): growth", "linear (cost per unit ×1.06)"),
    ]
    results.write(
        rows, database="x", arguments=[], started=time.time(), load_before=(1, 1, 1)
    )
    written = json.loads((tmp_path / "results.json").read_text())
    assert [row["target"] for row in written["targets"]] == [
        target.name for target in targets.TARGETS
    ]
    by_name = {row["target"]: row for row in written["targets"]}
    assert by_name["bulk import, 1 worker"]["ratio"] == "88.0 %"
    assert by_name["bulk import, 1 worker"]["met"] == "yes"
    assert by_name["v2 stream, 100 events/request"]["met"] == "no"
    assert by_name["dashboard and portal pages"]["measured"] == (
        "not measured in this run"
    )
    assert written["growth"] == [
        {
            "measure": "ingest, bulk (events/s)",
            "sizes": {"1,000,000 events": "90,000.0", "10,000,000 events": "85,000.0"},
            "verdict": "linear (cost per unit ×1.06)",
            "why": targets.GROWTH_REASONS["ingest, bulk (events/s)"],
        }
    ]
    table = (tmp_path / "RESULTS.md").read_text()
    assert "## Growth" in table
    assert (
        "| ingest, bulk (events/s) | 1,000,000 events: 90,000.0;"
        " 10,000,000 events: 85,000.0 | linear (cost per unit ×1.06) | each event"
    ) in table


def test_the_growth_verdict_says_linear_or_worse():
    from bench.bench_growth import verdict

    assert verdict(1.0, 1.2, per_unit=True).startswith("linear")
    assert verdict(1.0, 1.6, per_unit=True).startswith("worse than linear")
    assert verdict(5.0, 6.0, per_unit=False, flat=True).startswith("flat")
    assert verdict(5.0, 9.0, per_unit=False, flat=True).startswith("worse than flat")


def test_the_summaries_target_is_met_only_at_100_million_events():
    from bench import targets

    name = "summaries, 30-day window (at 100 M events)"

    def row(events: int) -> dict:
        figures = {
            ("summaries", "per day (30): p95 (ms)"): 11.0,
            ("summaries", "events of the meter"): events,
        }
        return {row["target"]: row for row in targets.target_rows(figures)}[name]

    assert row(10_000_000)["measured"] == "11.0 (at 10,000,000 events, not 100 M)"
    assert row(10_000_000)["met"] == "—"
    assert row(100_000_000)["measured"] == "11.0"
    assert row(100_000_000)["met"] == "yes"

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

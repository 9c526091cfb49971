"""The results files of a run: ``bench/results.json`` and ``bench/RESULTS.md``."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime

from bench import targets
from bench.support import ROOT

RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"


def _reference(figure: str) -> tuple[str, str]:
    """(reference, ratio label) of a figure named "..., % of <reference>"."""
    head, separator, reference = figure.rpartition("% of ")
    if not separator:
        return "", ""
    return reference.strip(), "%"


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""


def write(
    rows: list[tuple[str, str, object]],
    *,
    database: str,
    arguments: list[str],
    started: float,
    load_before: tuple[float, float, float],
) -> None:
    """Write ``bench/results.json`` and ``bench/RESULTS.md``: every figure so far,
    its reference and ratio (figures named "..., % of <reference>"), the date and
    the machine's load, so that a run is read with its conditions."""
    load_after = os.getloadavg()
    meta = {
        "date": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 1),
        "commit": _git_commit(),
        "arguments": arguments,
        "database": database,
        "cpus": os.cpu_count(),
        "load average before (1, 5, 15 min)": [round(x, 2) for x in load_before],
        "load average after (1, 5, 15 min)": [round(x, 2) for x in load_after],
    }
    figures = []
    for benchmark, figure, value in rows:
        reference, unit = _reference(figure)
        figures.append(
            {
                "benchmark": benchmark,
                "figure": figure,
                "value": value if isinstance(value, int | float) else str(value),
                "reference": reference,
                "ratio": f"{value:.1f} {unit}" if unit and _number(value) else "",
            }
        )
    by_key = {(name, figure): value for name, figure, value in rows}
    RESULTS_JSON.write_text(
        json.dumps(
            {
                **meta,
                "targets": targets.target_rows(by_key),
                "growth": targets.growth_rows(by_key),
                "figures": figures,
            },
            indent=2,
        )
        + "\n"
    )
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`) at the end of each benchmark;",
        "a ratio compares a figure with its physical reference measured in the same",
        "run (README, *Benchmarks*).",
        "",
        *(f"- {key}: {_shown(value)}" for key, value in meta.items()),
        "",
        *targets.markdown(by_key),
        "## Every figure",
        "",
        "| benchmark | figure | value | reference | ratio |",
        "|---|---|---|---|---|",
        *(
            f"| {row['benchmark']} | {_shown(row['figure'])} | {_shown(row['value'])}"
            f" | {_shown(row['reference'])} | {row['ratio']} |"
            for row in figures
        ),
        "",
    ]
    RESULTS_MD.write_text("\n".join(lines))


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

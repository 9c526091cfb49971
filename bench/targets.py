"""The targets of issue #19 and the growth table, as ``bench/RESULTS.md`` shows them.

Each target names the figures of a run that measure it (benchmark, figure) and
the goal; a target whose figures this run did not produce says so, rather than
leaving the row out. The growth table gathers the figures named
``"<measure> @ <size>"`` and ``"<measure>: growth"`` (``bench_growth``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Figures = dict[tuple[str, str], object]


@dataclass(frozen=True)
class Target:
    name: str
    reference: str
    goal: str
    # (benchmark, figure) shown as the measured value, and as the ratio (if any).
    value: tuple[str, str]
    ratio: tuple[str, str] | None
    met: Callable[[Figures], bool | None]
    # A condition of the measurement (its size) this run may not have met: what
    # the measured value says then; a run that did not meet it meets no goal.
    short_of: Callable[[Figures], str | None] = lambda figures: None


def _number(figures: Figures, key: tuple[str, str]) -> float | None:
    value = figures.get(key)
    return value if isinstance(value, int | float) else None


def _at_most(key: tuple[str, str], limit: float):
    def met(figures: Figures) -> bool | None:
        value = _number(figures, key)
        return None if value is None else value <= limit

    return met


def _at_least(key: tuple[str, str], limit: float):
    def met(figures: Figures) -> bool | None:
        value = _number(figures, key)
        return None if value is None else value >= limit

    return met


def _both(*checks):
    def met(figures: Figures) -> bool | None:
        outcomes = [check(figures) for check in checks]
        if any(outcome is None for outcome in outcomes):
            return None
        return all(outcomes)

    return met


_BULK1 = ("ingest", "bulk import, 1 worker(s), % of COPY")
_BULK2 = ("ingest", "bulk import, 2 worker(s), % of 2-session COPY")
_V2 = ("ingest", "v2 stream (100/call): % of COPY")
_SUMMARY = ("summaries", "per day (30): p95 (ms)")
_SUMMARY_ROWS = ("summaries", "events of the meter")
_SUMMARY_SIZE = 100_000_000


def _summary_short_of(figures: Figures) -> str | None:
    rows = _number(figures, _SUMMARY_ROWS)
    if rows is None or rows >= _SUMMARY_SIZE:
        return None
    return f"at {rows:,} events, not 100 M"


_CLOSE = ("billing", "close + finalize s (target ≤ 60)")
_CHECK_P99 = ("realtime", "check endpoint: p99 ms")
_WEBHOOKS = ("webhooks", "deliveries/s")
# At a steady 1,000 deliveries/s offered: a burst's p95 is its own queue.
_WEBHOOK_P95 = ("webhooks", "paced: latency p95 ms")

TARGETS = (
    Target(
        "v1 single event via gunicorn",
        "an empty DRF view behind the same gunicorn",
        "≥ 60 % of it, p99 ≤ 50 ms",
        ("ingest", "v1 single events: events/s measured"),
        ("ingest", "v1 single events: % of an empty view"),
        _both(
            _at_least(("ingest", "v1 single events: % of an empty view"), 60),
            _at_most(("ingest", "v1 single events: p99 per request (ms)"), 50),
        ),
    ),
    Target(
        "check endpoint, 1,000 checks/s (#14)",
        "an empty DRF view behind the same gunicorn, at the same pace",
        "p99 ≤ 10 ms",
        _CHECK_P99,
        ("realtime", "check endpoint: p99, % of the empty view's"),
        _at_most(_CHECK_P99, 10),
    ),
    Target(
        "v2 stream, 100 events/request",
        "COPY of the same rows",
        "≥ 50 %",
        ("ingest", "v2 stream (100/call): events/s measured"),
        _V2,
        _at_least(_V2, 50),
    ),
    Target(
        "bulk import, 1 worker",
        "COPY of the same rows, 1 session",
        "≥ 85 %",
        ("ingest", "bulk import, 1 worker(s) (events/s)"),
        _BULK1,
        _at_least(_BULK1, 85),
    ),
    Target(
        "bulk import, 2 workers",
        "COPY of the same rows, 2 sessions",
        "≥ 85 %",
        ("ingest", "bulk import, 2 worker(s) (events/s)"),
        _BULK2,
        _at_least(_BULK2, 85),
    ),
    Target(
        "summaries, 30-day window (at 100 M events)",
        "hand-written SQL on the rollups",
        "p95 ≤ 20 ms",
        _SUMMARY,
        ("summaries", "per day (30): speed, % of hand-written SQL on the rollups"),
        _at_most(_SUMMARY, 20),
        _summary_short_of,
    ),
    Target(
        "period close + finalize, 10,000 subscriptions",
        "—",
        "≤ 15 s (100,000 ≤ 3 min with 4 workers)",
        _CLOSE,
        None,
        _at_most(_CLOSE, 15),
    ),
    Target(
        "alert / limit evaluation",
        "—",
        "100,000 alerts per pass ≤ 5 s",
        ("alerts", "100,000 alerts per pass (s)"),
        None,
        _at_most(("alerts", "100,000 alerts per pass (s)"), 5),
    ),
    Target(
        "webhook delivery, 3 endpoints, ordered",
        "a local receiver that only counts",
        "≥ 1,000 deliveries/s, p95 event → delivered ≤ 1 s",
        _WEBHOOKS,
        ("webhooks", "deliveries/s: % of the reference"),
        _both(_at_least(_WEBHOOKS, 1000), _at_most(_WEBHOOK_P95, 1000)),
    ),
    Target(
        "dashboard and portal pages",
        "—",
        "p95 ≤ 300 ms with 100,000 customers, 1,000,000 invoices",
        ("dashboard", "pages p95 (ms)"),
        None,
        _at_most(("dashboard", "pages p95 (ms)"), 300),
    ),
)


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def target_rows(figures: Figures) -> list[dict]:
    """Each target with its measured value, ratio and whether it is met."""
    rows = []
    for target in TARGETS:
        value = figures.get(target.value)
        ratio = figures.get(target.ratio) if target.ratio else None
        met = target.met(figures)
        short_of = target.short_of(figures) if value is not None else None
        if short_of:
            met = None
        rows.append(
            {
                "target": target.name,
                "reference": target.reference,
                "goal": target.goal,
                "measured": "not measured in this run"
                if value is None
                else _shown(value) + (f" ({short_of})" if short_of else ""),
                "ratio": "" if ratio is None else f"{_shown(ratio)} %",
                "met": {True: "yes", False: "no", None: "—"}[met],
            }
        )
    return rows


# Why each measure grows as it does (the growth table's last column): what a
# "worse than linear" verdict is to be read against.
GROWTH_REASONS = {
    "ingest, bulk (events/s)": "each event adds an entry to the events table's two"
    " B-trees (unique key; customer, time): their depth grows as log n, and once"
    " they outgrow shared_buffers an insert may read index pages from disk; monthly"
    " partitions bound both (docs/deploy.md)",
    "ingest, single events (ms/event)": "as bulk, plus one round trip per event,"
    " which does not grow: the table's share of the cost is smaller",
    "summary, 30 days per day, p95 (ms)": "reads one customer's daily rollups"
    " (30 rows per dimension set for the month), not events: independent of the"
    " number of events; differences are the shared machine's noise",
    "reference: SQL on the rollups, p95 (ms)": "the same month per day, hand-written"
    " SQL on the hourly rollups (720 rows): flat for the same reason",
    "period close + finalize (s)": "a fixed number of queries per chunk of"
    " subscriptions, each reading its customers' rollups",
}


def growth_rows(figures: Figures) -> list[dict]:
    """The growth table: each measure, its value at each size, and the verdict."""
    measures: dict[str, dict] = {}
    for (benchmark, figure), value in figures.items():
        if benchmark != "growth":
            continue
        measure, at, size = figure.partition(" @ ")
        if at:
            measures.setdefault(measure, {"sizes": {}, "verdict": ""})
            measures[measure]["sizes"][size] = _shown(value)
        elif figure.endswith(": growth"):
            measure = figure.removesuffix(": growth")
            measures.setdefault(measure, {"sizes": {}, "verdict": ""})
            measures[measure]["verdict"] = str(value)
    return [
        {"measure": measure, **entry, "why": GROWTH_REASONS.get(measure, "")}
        for measure, entry in measures.items()
        if entry["sizes"]
    ]


def markdown(figures: Figures) -> list[str]:
    """The targets and growth sections of ``RESULTS.md``."""
    lines = [
        "## Targets of issue #19",
        "",
        "| target | reference | goal | measured | ratio | met |",
        "|---|---|---|---|---|---|",
        *(
            f"| {row['target']} | {row['reference']} | {row['goal']}"
            f" | {row['measured']} | {row['ratio']} | {row['met']} |"
            for row in target_rows(figures)
        ),
        "",
    ]
    growth = growth_rows(figures)
    if growth:
        lines += [
            "## Growth",
            "",
            "Cost per unit at the largest size against the smallest: linear when",
            "at most 25 % more; summaries flat when p95 grows by at most half.",
            "",
            "| measure | sizes | verdict | why |",
            "|---|---|---|---|",
            *(
                f"| {row['measure']} | "
                + "; ".join(f"{size}: {value}" for size, value in row["sizes"].items())
                + f" | {row['verdict']} | {row['why']} |"
                for row in growth
            ),
            "",
        ]
    return lines

"""Run benchmarks: ``python -m bench [names...]`` (default: every bench_*.py)."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pkgutil
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlsplit

from bench import pgserver, results, support

# Builds the 10-million-event table: run first, so that every later benchmark
# (ingestion above all) measures against a production-sized events table.
FIRST = "summaries"


def available() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        (
            module.name[len("bench_") :]
            for module in pkgutil.iter_modules([str(folder)])
            # The soak runs for minutes on processes of its own: bench/bench_soak.py.
            if module.name.startswith("bench_") and module.name != "bench_soak"
        ),
        key=lambda name: (name != FIRST, name),
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {available()}")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, for a smoke run"
    )
    parser.add_argument(
        "--events", type=int, default=None, help="events per ingestion benchmark"
    )
    parser.add_argument(
        "--rows", type=int, default=None, help="events in the table for summaries"
    )
    parser.add_argument(
        "--server",
        choices=["private", "system"],
        default="private",
        help="PostgreSQL to measure when DATABASE_URL is unset: a private server "
        "tuned as production would be (default), or the machine's at 127.0.0.1:5432",
    )
    return parser.parse_args(argv)


def database_server(args: argparse.Namespace):
    """The server to measure, as (context yielding its URL, description)."""
    if "DATABASE_URL" in os.environ:
        url = os.environ["DATABASE_URL"]
        return nullcontext(url), f"DATABASE_URL ({urlsplit(url).netloc})"
    system = nullcontext(support.DEFAULT_DATABASE_URL)
    if args.server == "system":
        return system, "the machine's server at 127.0.0.1:5432, as configured"
    reason = pgserver.unavailable()
    if reason is not None:
        print(f"No private PostgreSQL server ({reason}): measuring the machine's.")
        return system, "the machine's server at 127.0.0.1:5432, as configured"
    tuned = ", ".join(
        f"{name}={value}"
        for name, value in pgserver.settings().items()
        if name in ("shared_buffers", "max_wal_size")
    )
    return pgserver.private_server(), f"private server ({tuned}; durability defaults)"


def _in_own_process(name: str, args: argparse.Namespace) -> dict:
    """Run one benchmark in a fresh process; its figures.

    None inherits what another left behind: open connections, warm caches, or
    Celery's pool of broker connections, which keeps the broker it was opened for
    (the webhooks benchmark brings its own broker).
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=support.run_in_child, args=(name, args, send))
    process.start()
    send.close()
    try:
        figures = receive.recv()
    except EOFError:
        figures = None
    process.join()
    if figures is None or process.exitcode:
        raise SystemExit(f"The {name} benchmark failed (exit code {process.exitcode}).")
    return figures


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    names = args.names or available()
    unknown = [name for name in names if name not in available()]
    if unknown:
        print(f"Unknown benchmark(s): {unknown}; available: {available()}")
        return 2
    server, described = database_server(args)
    run_started, load_before = time.time(), os.getloadavg()
    with server as url:
        os.environ["DATABASE_URL"] = url
        print(f"PostgreSQL: {described}", flush=True)
        support.setup_django()
        collected: list[tuple[str, str, object]] = []
        for name in names:
            started = time.perf_counter()
            print(f"== {name}", flush=True)
            figures = _in_own_process(name, args)
            print(f"   done in {time.perf_counter() - started:.1f}s", flush=True)
            # Each benchmark's figures as soon as it ends: a later one may fail.
            support.print_table([(name, key, value) for key, value in figures.items()])
            collected.extend((name, key, value) for key, value in figures.items())
            results.write(
                collected,
                database=described,
                arguments=argv,
                started=run_started,
                load_before=load_before,
            )
    print(f"\nPostgreSQL: {described}")
    support.print_table(collected)
    print(f"\nWritten: {results.RESULTS_MD} and {results.RESULTS_JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run benchmarks: ``python -m bench [names...]`` (default: every bench_*.py)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench import support


def available() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        module.name[len("bench_") :]
        for module in pkgutil.iter_modules([str(folder)])
        if module.name.startswith("bench_")
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
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    names = args.names or available()
    unknown = [name for name in names if name not in available()]
    if unknown:
        print(f"Unknown benchmark(s): {unknown}; available: {available()}")
        return 2
    support.setup_django()
    results: list[tuple[str, str, object]] = []
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        figures = module.run(args)
        print(f"   done in {time.perf_counter() - started:.1f}s", flush=True)
        results.extend((name, key, value) for key, value in figures.items())
    support.print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Benchmarks (not tests): ``make bench`` runs ``python -m bench [names...]``.

Each ``bench/bench_<name>.py`` exposes ``run(args) -> dict`` of measured figures; the
runner prints them as a table. Benchmarks use PostgreSQL (``DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/tally_bench``), create and migrate that database
themselves, and start and stop whatever servers they need.
"""

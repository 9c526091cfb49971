"""A paced HTTP load: GETs at a steady rate, with latency percentiles.

Latency under a fixed rate (a thousand checks a second) is what the check endpoint
promises, so the load is paced, not as fast as it goes. It comes from ``wrk``
(C, one thread, one core's small share) with ``bench/paced.lua`` keeping the
rate; without ``wrk`` installed (``apt-get install wrk``), from one Python
process with one event loop, which takes more of the two cores the server shares
and says so in the figures (``load generator``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench import support

SCRIPT = Path(__file__).with_name("paced.lua")
# The physical reference of the API's latencies and rates: an empty authenticated
# DRF view, served by the benchmarks' gunicorn (``bench.web_urls``). Here, not
# there: the load's client processes must not import Django's URLs.
EMPTY_VIEW_PATH = "/v1/bench/empty"


def paced_load(
    server, paths: list[str], headers: dict[str, str], *, rate, seconds, connections
) -> dict:
    """GET ``paths`` (in turn) at ``rate`` a second in total for ``seconds`` over
    ``connections`` keep-alive connections: requests/s reached, failures, p50,
    p99 and max in ms, server CPU per request, and the generator used."""
    cpu_before = support.server_cpu_seconds(server)
    if shutil.which("wrk"):
        figures = _wrk(server, paths, headers, rate, seconds, connections)
    else:
        figures = _python(server, paths, headers, rate, seconds, connections)
        figures["load generator"] = "Python asyncio, one process (wrk not installed)"
    # Beside the latencies, which a busy machine stretches: the CPU the server
    # (gunicorn and its database sessions) spent per request.
    cpu = support.server_cpu_seconds(server) - cpu_before
    done = figures["requests/s"] * seconds
    figures["server CPU per request (us)"] = round(1e6 * cpu / done) if done else 0
    return figures


def _wrk(server, paths, headers, rate, seconds, connections) -> dict:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        *(arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")),
        f"http://{server.host}:{server.port}",
        "--",
        str(rate),
        *paths,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = json.loads(output.strip().splitlines()[-1])
    failures = sum(
        found[key]
        for key in (
            "connect_errors",
            "read_errors",
            "write_errors",
            "status_errors",
            "timeouts",
        )
    )
    return {
        "requests/s": round(found["requests"] / (found["duration_us"] / 1e6)),
        "failures": failures,
        "p50 ms": found["p50_us"] / 1000,
        "p99 ms": found["p99_us"] / 1000,
        "max ms": found["max_us"] / 1000,
        "load generator": f"wrk, 1 thread, {connections} connections, paced",
    }


def _python(server, paths, headers, rate, seconds, connections) -> dict:
    with ProcessPoolExecutor(1) as pool:
        latencies, failures, span = pool.submit(
            _paced_connections,
            server.host,
            server.port,
            paths,
            headers,
            rate,
            seconds,
            connections,
            time.time() + 1,
        ).result()
    return {
        "requests/s": round(len(latencies) / span),
        "failures": failures,
        "p50 ms": support.percentile(latencies, 0.50),
        "p99 ms": support.percentile(latencies, 0.99),
        "max ms": max(latencies, default=0.0),
    }


async def _paced(host, port, paths, headers, rate, seconds, start_at, found):
    """One keep-alive connection sending GETs for ``paths`` (cycled) at ``rate`` a
    second, each after the last answer; adds (latency ms, failed) to ``found``."""
    reader, writer = await asyncio.open_connection(host, port)
    fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    await asyncio.sleep(max(0.0, start_at - time.time()))
    began, count = time.monotonic(), 0
    while time.monotonic() - began < seconds:
        pause = began + count / rate - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        path = paths[count % len(paths)]
        sent = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{fields}\r\n".encode())
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        found.append(((time.perf_counter() - sent) * 1000, status >= 300))
        count += 1
    writer.close()
    return time.monotonic() - began


def _paced_connections(host, port, paths, headers, rate, seconds, connections, start):
    """``connections`` connections in one process (one event loop: the load takes
    little of the cores it shares with the server); (latencies, failures, seconds)."""

    async def all_of_them():
        found: list[tuple[float, bool]] = []
        spans = await asyncio.gather(
            *(
                _paced(
                    host,
                    port,
                    paths[index::connections] or paths,
                    headers,
                    rate / connections,
                    seconds,
                    start,
                    found,
                )
                for index in range(connections)
            )
        )
        return [ms for ms, _ in found], sum(bad for _, bad in found), max(spans)

    return asyncio.run(all_of_them())

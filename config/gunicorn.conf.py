"""gunicorn settings for `make run` and production (override with GUNICORN_CMD_ARGS).

Tuned for a small host (two cores): gthread workers keep client connections open
between requests (meter event clients send many small requests), a worker per core
avoids contention on Python's GIL, and a few threads per worker overlap the
requests' waits on PostgreSQL (commits wait for the disk).
"""

import gc
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import gunicorn_errors  # noqa: E402
from config.redaction import gunicorn_logger_class  # noqa: E402

# Loopback by default: put a proxy (TLS) in front, or set HOST=0.0.0.0 to listen on
# every interface (a container).
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# Idle keep-alive connections are closed after this many seconds.
keepalive = 5
timeout = 60
# Workers touch their heartbeat file on every request: keep it in memory.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-" if os.environ.get("ACCESS_LOG") else None
# Customer-page and hosted-invoice paths are their links' secrets: logged redacted.
logger_class = gunicorn_logger_class()

# Requests gunicorn refuses before Django sees them: a request line over 4094 bytes
# (414), more than 100 headers or one over 8190 bytes (431), an unparsable line (400).
# These are gunicorn's defaults; its answers are JSON in Stripe's envelope.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
gunicorn_errors.install()

# A thread waiting for Python's GIL waits up to this long for the running one to
# yield it (Python's default is 5 ms): with a few threads a worker, a short request
# (a check, a meter event) would otherwise queue behind a busy thread for that long.
GIL_SWITCH_INTERVAL = float(os.environ.get("GIL_SWITCH_INTERVAL", "0.001"))


def post_fork(server, worker):
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def post_worker_init(worker):
    """Move what the worker loaded (Django, the app, its URL patterns and views)
    out of the garbage collector's reach: a full collection then walks only the
    objects of requests. An answer that builds thousands of objects (a month per
    day and group) triggers several, each over the whole loaded code otherwise:
    17 instead of 28 ms of CPU per such summary request."""
    from django.urls import get_resolver

    # Import every view now, not on its first request.
    get_resolver().check()
    gc.collect()
    gc.freeze()

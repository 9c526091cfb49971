"""gunicorn settings for `make run` and production (override with GUNICORN_CMD_ARGS).

Tuned for a small host (two cores): gthread workers keep client connections open
between requests (meter event clients send many small requests), a worker per core
avoids contention on Python's GIL, and a few threads per worker overlap the
requests' waits on PostgreSQL (commits wait for the disk).
"""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# Idle keep-alive connections are closed after this many seconds.
keepalive = 5
timeout = 60
# Workers touch their heartbeat file on every request: keep it in memory.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-" if os.environ.get("ACCESS_LOG") else None

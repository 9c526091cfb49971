"""gunicorn settings for `make run` and production (override with GUNICORN_CMD_ARGS)."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 60
accesslog = "-" if os.environ.get("ACCESS_LOG") else None

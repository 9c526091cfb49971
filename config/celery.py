"""The Celery app: workers run tasks; exactly one Beat triggers periodic jobs."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

# The embedded broker writes each message whole (config/broker_files.py).
TRANSPORT_ALIASES["filesystem"] = "config.broker_files:Transport"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tally")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

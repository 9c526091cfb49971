"""One test's Celery changes never reach the next (``tests/conftest.py``
``_celery_state_restored``): the second test here runs after the first, in file
order, and finds the suite's app, eager mode and broker as they were.

The first does what used to leak: tests/system/test_embedded_worker.py made a Celery
app of its own, current by default, and every shared task queued afterwards in the
process went to that app's folder broker (the webhook kill test then timed out);
tests/core/test_broker_down.py points the app at a dead broker.
"""

from __future__ import annotations

from celery import Celery, current_app

from config.celery import app as celery_app
from core import queue

DEAD_BROKER = "redis://127.0.0.1:9/0"


def test_a_test_that_makes_its_own_app_and_kills_the_broker():
    other = Celery()  # current by default, in this thread
    assert current_app._get_current_object() is other
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_write_url = DEAD_BROKER
    celery_app.conf.broker_transport_options = {"socket_connect_timeout": 0.1}
    queue._broker_down_until = float("inf")


def test_the_next_test_finds_the_suite_app_as_it_was():
    assert current_app._get_current_object() is celery_app
    assert celery_app.conf.task_always_eager is True
    assert celery_app.conf.get("broker_write_url") in (None, "")
    assert celery_app.conf.broker_transport_options.get("socket_connect_timeout") != 0.1
    assert queue._broker_down_until == 0.0
    from core.tasks import idempotency_keys_prune_task

    assert idempotency_keys_prune_task.app is celery_app

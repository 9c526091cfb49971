"""The suite's xdist workers keep apart what their test databases do not hold."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, xdist_worker_env


def test_each_worker_has_its_own_var_dir_and_redis_database():
    environ = {
        "TALLY_VAR_DIR": "/tmp/tally-var",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/10",
    }
    assert xdist_worker_env(0, environ) == {
        "TALLY_VAR_DIR": "/tmp/tally-var/gw0",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/10",
    }
    assert xdist_worker_env(1, environ) == {
        "TALLY_VAR_DIR": "/tmp/tally-var/gw1",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/11",
    }


def test_the_embedded_defaults_and_a_documents_dir():
    environ = {"TALLY_DOCUMENTS_DIR": "/srv/documents"}
    assert xdist_worker_env(1, environ) == {
        "TALLY_VAR_DIR": str(ROOT / "var" / "gw1"),
        "TALLY_DOCUMENTS_DIR": "/srv/documents/gw1",
    }
    # A broker URL without a database number is database 0.
    assert (
        xdist_worker_env(1, {"CELERY_BROKER_URL": "redis://redis:6379"})[
            "CELERY_BROKER_URL"
        ]
        == "redis://redis:6379/1"
    )


def test_a_worker_past_redis_database_15_is_refused():
    with pytest.raises(RuntimeError, match="database 16"):
        xdist_worker_env(2, {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/14"})

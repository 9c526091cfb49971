"""The database: SQLite by default, PostgreSQL from DATABASE_URL; a replica."""

import os

import dj_database_url

from config.settings.env import VAR_DIR

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tally.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write to one file at once: WAL lets readers run beside
    # the writer, IMMEDIATE transactions take the write lock up front (no deadlock
    # on lock upgrade) and the busy timeout makes writers queue instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=30000;"
            "PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if IS_POSTGRES:
    # psycopg prepares a statement the fifth time a connection runs it, sparing the
    # server its parsing and planning: a good part of what recording a meter event
    # costs. Django leaves this off for connection poolers: behind PgBouncer older
    # than 1.21 in transaction mode, set DATABASE_PREPARE_THRESHOLD=off.
    _prepare = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5").strip().lower()
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        None if _prepare in ("", "off", "none") else int(_prepare)
    )

# A streaming replica of the primary (PostgreSQL): dashboard and customer-page
# reads go to it, everything that must see its own writes stays on the primary
# (core/db.py). In tests the alias reads the primary's test database.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **dj_database_url.parse(
            DATABASE_REPLICA_URL,
            conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        ),
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.db.ReplicaRouter"]
# Seconds a browser reads the primary after it wrote: more than the replica's lag.
DATABASE_REPLICA_PIN_SECONDS = int(os.environ.get("DATABASE_REPLICA_PIN_SECONDS", "10"))

"""One thread per web process listens for snapshot changes (PostgreSQL).

Started by the first check a process serves (``listener_ensure``), so under
gunicorn's ``preload_app`` it runs in each worker, never in the master; a forked
child starts its own (the process id is compared on each check). It holds its
own connection to the primary, ``LISTEN tally_access``, and drops the cache
entry each notification names (``<mode>:<customer id>``, sent by the trigger of
migration ``alerts.0006`` when a snapshot row's change commits).

While connected it vouches for the notifications a few seconds ahead
(``snapshot_vouch``), renewed after each wait and a round trip to the server: if
the connection breaks or hangs silently, the vouching lapses and the cache falls
back to its short TTL by itself. Each (re)connection first forgets every entry,
as notifications may have been missed meanwhile; failures are retried after a
pause. ``TALLY_CHECK_LISTEN=off`` (e.g. behind a transaction-mode pooler, where
``LISTEN`` does not work) leaves the short TTL in force.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import psycopg
from django.conf import settings
from django.db import connections, router

from alerts.models import CustomerAccess
from alerts.services.snapshot_cache import (
    snapshot_drop,
    snapshot_drop_all,
    snapshot_vouch,
)

logger = logging.getLogger(__name__)

CHANNEL = "tally_access"
_WAIT_SECONDS = 1.0  # longest wait for notifications before a round trip
_VOUCH_SECONDS = 5.0  # how far a heartbeat vouches ahead: a few waits
_RETRY_SECONDS = 2.0  # pause after a failure before reconnecting

_start_lock = threading.Lock()
_started_pid: int | None = None
_stop = threading.Event()
_thread: threading.Thread | None = None


def listener_ensure() -> None:
    """Start this process's listener if it should run and does not yet."""
    if _started_pid == os.getpid():
        return
    with _start_lock:
        if _started_pid == os.getpid():
            return
        _start()


def _start() -> None:
    global _started_pid, _thread
    _started_pid = os.getpid()
    alias = router.db_for_write(CustomerAccess)
    if (
        not settings.TALLY_CHECK_LISTEN
        or settings.TALLY_CHECK_CACHE_SECONDS <= 0
        or connections[alias].vendor != "postgresql"
    ):
        return
    _stop.clear()
    _thread = threading.Thread(
        target=_run,
        args=(_conninfo(alias),),
        name="tally-snapshot-listener",
        daemon=True,
    )
    _thread.start()


def listener_stop() -> None:
    """Stop the listener and let the next check decide again (tests, shutdown)."""
    global _started_pid, _thread
    with _start_lock:
        _stop.set()
        if _thread is not None:
            _thread.join(timeout=_WAIT_SECONDS * 5)
        _thread = None
        _started_pid = None
        snapshot_vouch(0.0)


def _conninfo(alias: str) -> dict:
    """The primary's connection parameters (the test database's under tests)."""
    params = connections[alias].settings_dict
    info = {
        "dbname": params["NAME"],
        "user": params.get("USER") or None,
        "password": params.get("PASSWORD") or None,
        "host": params.get("HOST") or None,
        "port": params.get("PORT") or None,
        "sslmode": params.get("OPTIONS", {}).get("sslmode"),
    }
    return {key: value for key, value in info.items() if value}


def _run(conninfo: dict) -> None:
    while not _stop.is_set():
        try:
            _listen(conninfo)
        except Exception:  # a dropped connection, a restart: retry
            logger.warning("snapshot listener: connection lost", exc_info=True)
        finally:
            snapshot_vouch(0.0)
        _stop.wait(_RETRY_SECONDS)


def _listen(conninfo: dict) -> None:
    with psycopg.connect(
        **conninfo,
        autocommit=True,
        connect_timeout=5,
        application_name="tally-snapshot-listener",
    ) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        snapshot_drop_all()  # what changed before LISTEN went unheard
        while not _stop.is_set():
            snapshot_vouch(time.monotonic() + _VOUCH_SECONDS)
            for notify in conn.notifies(timeout=_WAIT_SECONDS):
                _dropped_by(notify.payload)
            conn.execute("SELECT 1")  # a silent break fails here, or hangs


def _dropped_by(payload: str) -> None:
    mode, _, customer_id = payload.partition(":")
    if mode in ("live", "test") and customer_id:
        snapshot_drop((mode == "live", customer_id))


def _after_fork_in_child() -> None:
    # The parent's thread did not come along; its lock may have been held.
    global _start_lock, _stop, _thread, _started_pid
    _start_lock = threading.Lock()
    _stop = threading.Event()
    _thread = None
    _started_pid = None


os.register_at_fork(after_in_child=_after_fork_in_child)

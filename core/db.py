"""Read replica routing: dashboard and customer-page reads may go to a replica.

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database alias,
``ReplicaRouter`` and ``ReplicaReadsMiddleware``. A read goes to the replica only
inside a *replica scope*, which the middleware opens for GET and HEAD requests of
the dashboard (``/admin/``) and the customer pages (``/customer/``). Everything
else reads the primary, because it must see its own writes or lock what it reads:

- API requests, Celery tasks and Beat jobs (no scope);
- reads inside a transaction on the primary (the admin's change forms, services);
- reads after the request wrote anything (the scope turns to the primary);
- reads with ``select_for_update`` (they are routed as writes);
- requests within ``DATABASE_REPLICA_PIN_SECONDS`` of a write by the same browser
  (a cookie), so that the page a form redirects to shows what the form saved;
- sessions, users, permissions, API keys, idempotency keys and customer-page
  links, which another process may have written a moment ago.

Writes always go to the primary.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

REPLICA = "replica"
PRIMARY = "default"
# Paths whose GET pages may read the replica: the dashboard and customer pages.
REPLICA_READ_PATHS = ("/admin/", "/customer/")
# The cookie that keeps a browser on the primary for a while after it wrote.
PIN_COOKIE = "tally_primary"
# Models read on the primary in every case (``app_label`` or ``app_label.model``).
PRIMARY_ONLY = frozenset(
    {
        "sessions",
        "auth",
        "contenttypes",
        "admin",
        "django_celery_beat",
        "core.apikey",
        "core.idempotencykey",
        "core.portalsession",
    }
)
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")


@dataclass
class _Scope:
    wrote: bool = False


_scope: ContextVar[_Scope | None] = ContextVar("tally_replica_scope", default=None)


def replica_configured() -> bool:
    return bool(settings.DATABASE_REPLICA_URL) and REPLICA in connections.settings


def _primary_only(model) -> bool:
    meta = model._meta
    return meta.app_label in PRIMARY_ONLY or meta.label_lower in PRIMARY_ONLY


class ReplicaRouter:
    """Route reads in a replica scope to the replica; everything else to the primary."""

    def db_for_read(self, model, **hints):
        scope = _scope.get()
        if (
            scope is None
            or scope.wrote
            or not replica_configured()
            or _primary_only(model)
            or connections[PRIMARY].in_atomic_block
        ):
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data: objects read from either may relate.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class replica_reads:  # noqa: N801 (used like a function, as transaction.atomic)
    """Open a replica scope: reads go to the replica until something is written."""

    def __enter__(self) -> _Scope:
        self._scope = _Scope()
        self._token = _scope.set(self._scope)
        self._wrapper = connections[PRIMARY].execute_wrapper(self._watch)
        self._wrapper.__enter__()
        return self._scope

    def __exit__(self, *exc_info) -> None:
        self._wrapper.__exit__(*exc_info)
        _scope.reset(self._token)

    def _watch(self, execute, sql, params, many, context):
        if sql.lstrip()[:6].upper() in _WRITES:
            self._scope.wrote = True
        return execute(sql, params, many, context)


class ReplicaReadsMiddleware:
    """Open a replica scope for the dashboard's and customer pages' GET requests."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(REPLICA_READ_PATHS):
            # The API and everything else: the primary, nothing to pin.
            return self.get_response(request)
        if not (
            replica_configured()
            and request.method in ("GET", "HEAD")
            and PIN_COOKIE not in request.COOKIES
        ):
            response = self.get_response(request)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                self._pin(response)
            return response
        with replica_reads() as scope:
            response = self.get_response(request)
        if scope.wrote:
            self._pin(response)
        return response

    def _pin(self, response) -> None:
        if replica_configured():
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
            )

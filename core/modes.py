"""Live and test modes: which mode's objects the code serving a request may see.

As in Stripe, every object belongs to one mode (its ``livemode`` field) and a key
sees only its own mode's objects. The mode is set once at the edge, for the whole
request: by the API key (``core.api.middleware``, the lean lane), by a v2 meter
event session, and by the dashboard's "Test mode / Live mode" switch
(``core.admin_pages``). While a mode is active:

- ``ModeManager`` (every model with a ``livemode`` field) answers only that mode's
  rows, so any lookup by id, list, join target or parameter resolution made through
  ``Model.objects`` misses another mode's objects exactly as if they did not exist;
- a new object's ``livemode`` defaults to that mode (``default_livemode``), side
  effects included (an invoice, its lines, events, ledger rows).

Jobs and commands run with no mode active: they see every mode, and what they create
inherits the mode of the object it comes from (``livemode=subscription.livemode``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

_active: ContextVar[bool | None] = ContextVar("tally_livemode", default=None)


def active() -> bool | None:
    """Return the active mode: True live, False test, None when none (jobs)."""
    return _active.get()


def activate(livemode: bool | None):
    """Make ``livemode`` the active mode; returns a token for ``reset``."""
    return _active.set(livemode)


def reset(token) -> None:
    _active.reset(token)


@contextmanager
def scope(livemode: bool | None) -> Iterator[None]:
    """Run a block in ``livemode``'s objects (None: every mode)."""
    token = _active.set(livemode)
    try:
        yield
    finally:
        _active.reset(token)


def default_livemode() -> bool:
    """The ``livemode`` of an object created now: the active mode, else test."""
    return bool(_active.get())


def has_mode(model: type[models.Model]) -> bool:
    return any(field.name == "livemode" for field in model._meta.concrete_fields)


def in_mode(queryset: models.QuerySet) -> models.QuerySet:
    """Restrict ``queryset`` to the active mode (unchanged without one).

    For querysets built before the mode was set (a form's field, a module-level
    queryset); those made through ``Model.objects`` in the request already are.
    """
    livemode = _active.get()
    if livemode is None or not has_mode(queryset.model):
        return queryset
    return queryset.filter(livemode=livemode)


class LivemodeField(models.BooleanField):
    """``livemode``: a plain boolean column whose default is the active mode.

    It deconstructs as the ``BooleanField(default=False)`` it always was, so the
    column and the migrations are unchanged: rows written before modes were
    enforced, and objects made by jobs with no mode, default to test.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("default", False)
        super().__init__(**kwargs)

    def get_default(self) -> bool:
        return default_livemode()

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.BooleanField", args, kwargs


class ModeQuerySet(models.QuerySet):
    """A queryset that takes the active mode again when copied with ``all()``.

    A form field's queryset is built once, at import, and copied with ``all()``
    for every form (``ModelChoiceField``): the copy lists the request's mode only.
    """

    def all(self) -> models.QuerySet:
        queryset = super().all()
        livemode = _active.get()
        if livemode is None or queryset.query.is_sliced or queryset.query.combinator:
            return queryset
        return queryset.filter(livemode=livemode)


class ModeManager(models.Manager.from_queryset(ModeQuerySet)):
    """The default manager of objects that belong to a mode (see the module).

    Only the default manager is scoped: Django's base manager (forward relations,
    ``save``, ``refresh_from_db``, deletion) still reaches the row itself.
    """

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        livemode = _active.get()
        if livemode is None:
            return queryset
        return queryset.filter(livemode=livemode)


def mode_label(livemode: bool) -> str:
    return "Live mode" if livemode else "Test mode"

"""Registry of API resources: how each model is shown, and how ids are expanded.

Each app registers its resources in ``AppConfig.ready``. Events and ``expand[]`` use
the registry so core never imports a higher app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from core import modes
from core.errors import InvalidRequest


@dataclass(frozen=True)
class Resource:
    object_name: str
    model: type[models.Model]
    serializer: type
    # field name -> object name of what its id points at, e.g. {"customer": "customer"}
    expandable: dict[str, str] = field(default_factory=dict)
    loader: Callable[[str], models.Model | None] | None = None

    def load(self, object_id: str) -> models.Model | None:
        """The object, if it exists in the request's mode (``core.modes``)."""
        if self.loader is not None:
            instance = self.loader(object_id)
            livemode = modes.active()
            if (
                livemode is not None
                and getattr(instance, "livemode", livemode) != livemode
            ):
                return None
            return instance
        return modes.in_mode(self.model._default_manager.filter(pk=object_id)).first()


_by_object: dict[str, Resource] = {}
_by_model: dict[type[models.Model], Resource] = {}
# (object name, field) -> the field's value from the object's id: Stripe's
# "includable" fields, present only when expanded (``invoice.payments``). A
# higher app adds them to a lower app's object.
_includable: dict[tuple[str, str], Callable[[str], Any]] = {}


def register(resource: Resource) -> None:
    _by_object[resource.object_name] = resource
    _by_model[resource.model] = resource


def expandable_register(object_name: str, field_path: str, target: str) -> None:
    """Let a higher app name one more expandable field of a lower app's object."""
    _by_object[object_name].expandable[field_path] = target


def includable_register(
    object_name: str, field_name: str, value: Callable[[str], Any]
) -> None:
    """Make ``expand[]=<field_name>`` add ``value(object id)`` to ``object_name``."""
    _includable[(object_name, field_name)] = value


def all_resources() -> list[Resource]:
    return list(_by_object.values())


def resource_for_object(object_name: str) -> Resource:
    return _by_object[object_name]


def resource_for_instance(instance: models.Model) -> Resource:
    return _by_model[type(instance)]


def serialize(instance: models.Model, *, expand: Iterable[str] = ()) -> dict[str, Any]:
    """Return the API representation of ``instance``, with ``expand`` paths inlined."""
    paths = list(expand)
    resource = resource_for_instance(instance)
    data = resource.serializer(instance, context={"expand": set(paths)}).data
    data = dict(data)
    for path in sorted(paths, key=lambda p: p.count(".")):
        _expand(data, path.split("."), path)
    return data


def _cannot_expand(full_path: str) -> InvalidRequest:
    return InvalidRequest(
        f"This property cannot be expanded ({full_path}).", param="expand"
    )


def _expand_ids(owner: Resource | None, key: str, ids: list[str], full_path: str):
    """A list of ids (``discounts``) with each found object inlined."""
    target_name = owner.expandable.get(key) if owner else None
    if target_name is None:
        raise _cannot_expand(full_path)
    target = resource_for_object(target_name)
    found = [target.load(object_id) for object_id in ids]
    return [
        serialize(instance) if instance is not None else object_id
        for object_id, instance in zip(ids, found, strict=True)
    ]


def _expand(
    data: Any,
    path: list[str],
    full_path: str,
    owner: Resource | None = None,
    prefix: str = "",
) -> None:
    """Inline ``path`` in ``data``.

    ``owner`` and ``prefix``: inside a sub-object without its own ``object``
    (``invoice_payment.payment``, each of ``credit_note.refunds``), the resource
    that holds it and the dotted way there, which its ``expandable`` names
    (``payment.payment_intent``, ``refunds.refund``).
    """
    if not path or data is None:
        return
    head, rest = path[0], path[1:]
    if isinstance(data, dict) and data.get("object") == "list":
        if head != "data":
            raise _cannot_expand(full_path)
        for item in data["data"]:
            _expand(item, rest, full_path)
        return
    if isinstance(data, list):  # an array of sub-objects: each of them
        for item in data:
            _expand(item, path, full_path, owner, prefix)
        return
    if not isinstance(data, dict):
        raise _cannot_expand(full_path)
    if "object" in data:
        owner, prefix = _by_object.get(data["object"]), ""
    key = prefix + head
    if head not in data:
        if "object" not in data and owner and key in owner.expandable:
            return  # a variant of the sub-object without it (a payment_record)
        include = _includable.get((data.get("object", ""), head))
        if include is None or "id" not in data:
            raise _cannot_expand(full_path)
        data[head] = include(data["id"])
    value = data[head]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        data[head] = value = _expand_ids(owner, key, value, full_path)
    if not isinstance(value, dict | list):
        target_name = owner.expandable.get(key) if owner else None
        if target_name is None:
            raise _cannot_expand(full_path)
        if isinstance(value, str):
            instance = resource_for_object(target_name).load(value)
            if instance is not None:
                data[head] = value = serialize(instance)
    if isinstance(value, dict) and "object" in value:
        _expand(value, rest, full_path)
    else:
        _expand(value, rest, full_path, owner, key + ".")

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


def register(resource: Resource) -> None:
    _by_object[resource.object_name] = resource
    _by_model[resource.model] = resource


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


def _expand_ids(data: dict, head: str, ids: list[str], full_path: str) -> list:
    """A list of ids (``discounts``) with each found object inlined."""
    resource = _by_object.get(data.get("object", ""))
    target_name = resource.expandable.get(head) if resource else None
    if target_name is None:
        raise _cannot_expand(full_path)
    target = resource_for_object(target_name)
    found = [target.load(object_id) for object_id in ids]
    return [
        serialize(instance) if instance is not None else object_id
        for object_id, instance in zip(ids, found, strict=True)
    ]


def _expand(data: Any, path: list[str], full_path: str) -> None:
    if not path or data is None:
        return
    head, rest = path[0], path[1:]
    if isinstance(data, dict) and data.get("object") == "list":
        if head != "data":
            raise _cannot_expand(full_path)
        for item in data["data"]:
            _expand(item, rest, full_path)
        return
    if not isinstance(data, dict) or head not in data:
        raise _cannot_expand(full_path)
    value = data[head]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        data[head] = value = _expand_ids(data, head, value, full_path)
    if not isinstance(value, dict | list):
        resource = _by_object.get(data.get("object", ""))
        target_name = resource.expandable.get(head) if resource else None
        if target_name is None:
            raise _cannot_expand(full_path)
        if isinstance(value, str):
            instance = resource_for_object(target_name).load(value)
            if instance is not None:
                data[head] = value = serialize(instance)
    _expand(value, rest, full_path)

"""The OpenAPI document says what the API answers (schemathesis checks it).

drf-spectacular reads the views' ``extend_schema`` and the serializers; this module
teaches it Stripe's conventions once, for every operation, instead of per view:

- lists are list objects ``{object: "list", data, has_more, url}``, and a DELETE
  answers 200 with an object (``StripeAutoSchema``);
- Tally's own fields (unix times, metadata, constants, decimal strings, range
  filters) have their JSON types (the field extensions);
- every operation documents the error envelope for the 4xx (and 503) it can answer;
- an output field may be null (Stripe's objects are full of nullable fields) and is
  left out of a deleted object, so only ``id`` and ``object`` are required;
- an expandable field (``core.resources``) is an id or, expanded, the object.
"""

from __future__ import annotations

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema

from core import resources

_ALWAYS_THERE = frozenset({"id", "object", "created", "livemode"})
# The statuses any operation may answer with the error envelope (core/errors.py):
# invalid request, bad key, restricted key, missing object, conflict (idempotency,
# locks), too large, rate limit, database down.
ERROR_STATUSES = {
    "400": "Invalid request",
    "401": "No or invalid API key",
    "402": "Payment failed",
    "403": "The key may not do this",
    "404": "No such object, or no such route",
    "405": "Method not allowed",
    "409": "A concurrent request holds what this one needs; retry",
    "413": "The request body is too large",
    "415": "Unsupported content type",
    "429": "Too many requests with this key; retry after a pause",
    "503": "Temporarily unavailable; retry",
}
ERROR_COMPONENT = "Error"


class _StripeList:
    """What drf-spectacular asks a paginator for: the list object around items."""

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "properties": {
                "object": {"type": "string", _CONST: "list"},
                "data": schema,
                "has_more": {"type": "boolean"},
                "url": {"type": "string"},
            },
            "required": ["object", "data", "has_more", "url"],
        }

    def get_schema_operation_parameters(self, view) -> list:
        return []  # limit and cursors are declared by core.api.fields.ListParams


class StripeAutoSchema(AutoSchema):
    """Document a ``many=True`` response as Stripe's list object."""

    def _get_paginator(self):
        return _StripeList()

    def get_paginated_name(self, serializer_name: str) -> str:
        return f"{serializer_name}List"

    def _get_response_bodies(self, direction="response"):
        """A DELETE answers 200 with an object, as Stripe's (the deleted object's
        ``{id, object, deleted}``, or a canceled subscription), not 204."""
        serializers = self.get_response_serializers()
        if (
            self.method == "DELETE"
            and serializers
            and not isinstance(serializers, dict)
        ):
            return {
                "200": self._get_response_for_code(
                    serializers, "200", direction=direction
                )
            }
        return super()._get_response_bodies(direction)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A secret (sk_) or restricted (rk_) key; HTTP Basic "
            "with the key as user works too.",
        }


def _field(target: str, schema, *, nullable_if_allowed: bool = True):
    """Register ``schema`` (a dict, or a callable of the field) for a field class."""

    class Extension(OpenApiSerializerFieldExtension):
        target_class = target

        def map_serializer_field(self, auto_schema, direction):
            mapped = dict(schema(self.target) if callable(schema) else schema)
            if nullable_if_allowed and getattr(self.target, "allow_null", False):
                mapped["nullable"] = True
            return mapped

    Extension.__name__ = f"{target.rsplit('.', 1)[-1]}Extension"
    return Extension


_UNIX = {"type": "integer", "description": "Unix time, seconds."}


def _unix_in(field) -> dict:
    if getattr(field, "allow_now", False):
        return {"oneOf": [_UNIX, {"type": "string", "enum": ["now"]}]}
    return _UNIX


AlwaysNullFieldExtension = _field(
    "core.api.fields.AlwaysNullField",
    {"type": "string", "nullable": True, "description": "Not used by Tally: null."},
)
UnixFieldExtension = _field("core.api.fields.UnixField", _UNIX)
UnixTimeFieldExtension = _field("core.api.fields.UnixTimeField", _unix_in)
# Made an enum by the hook, after drf-spectacular's enum hook: one value is no
# choice set worth a component of its own.
_CONST = "x-tally-const"
ConstFieldExtension = _field(
    "core.api.fields.ConstField", lambda field: {"type": "string", _CONST: field.value}
)
MetadataFieldExtension = _field(
    "core.api.fields.MetadataField",
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 500},
        "description": 'Up to 50 keys; a value of "" deletes that key.',
    },
)
DecimalStringFieldExtension = _field(
    "core.api.fields.DecimalStringField",
    {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"},
)
RangeFilterFieldExtension = _field(
    "core.api.fields.RangeFilterField",
    {
        "oneOf": [
            _UNIX,
            {
                "type": "object",
                "properties": {op: _UNIX for op in ("gt", "gte", "lt", "lte")},
                "additionalProperties": False,
            },
        ]
    },
)


# ---- the postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) ------


def _error_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "code": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                    "param": {"type": "string", "nullable": True},
                },
                "required": ["type", "message"],
            }
        },
        "required": ["error"],
    }


def _document_errors(operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in ERROR_STATUSES.items():
        responses.setdefault(
            status,
            {
                "description": description,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
                    }
                },
            },
        )


def _nullable(schema: dict) -> dict:
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


def _loosen(component: dict) -> None:
    """Let each field but the four every object has be null, and a deleted object
    (``{id, object, deleted}``) omit the rest."""
    properties = component.get("properties")
    if not properties:
        return
    for name, schema in properties.items():
        if name not in _ALWAYS_THERE:
            properties[name] = _nullable(schema)
    if "id" in properties:
        properties.setdefault("deleted", {"type": "boolean"})
    required = [name for name in component.get("required", ()) if name in _ALWAYS_THERE]
    component["required"] = [name for name in required if name in ("id", "object")]
    if not component["required"]:
        del component["required"]


def _component_name(serializer: type) -> str:
    return serializer.__name__.removesuffix("Serializer")


def _expandable(schemas: dict) -> None:
    """An expandable field is an id or, with ``expand[]``, the object itself."""
    for resource in resources.all_resources():
        component = schemas.get(_component_name(resource.serializer))
        if not component or "properties" not in component:
            continue
        for field, object_name in resource.expandable.items():
            target = _component_name(
                resources.resource_for_object(object_name).serializer
            )
            if field not in component["properties"] or target not in schemas:
                continue
            component["properties"][field] = {
                "anyOf": [
                    {"type": "string"},
                    {"$ref": f"#/components/schemas/{target}"},
                ],
                "nullable": True,
            }


def _constants(node) -> None:
    """Turn each ``x-tally-const`` marker into a one-value enum."""
    if isinstance(node, dict):
        if _CONST in node:
            node["enum"] = [node.pop(_CONST)]
        for value in node.values():
            _constants(value)
    elif isinstance(node, list):
        for value in node:
            _constants(value)


def stripe_conventions(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: error envelopes, nullable fields, expandable fields."""
    _constants(result)
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in schemas.items():
        if not name.endswith("Request") and component.get("type") == "object":
            if name.endswith("List") and set(component.get("properties", ())) >= {
                "data",
                "has_more",
            }:
                continue
            _loosen(component)
    _expandable(schemas)
    schemas[ERROR_COMPONENT] = _error_schema()
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            _document_errors(operation)
    return result

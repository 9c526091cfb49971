"""Stripe's form encoding: ``a[b][0][c]=v`` and ``a[]=v`` into dicts and lists."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from django.core.handlers.wsgi import get_bytes_from_wsgi

from core.errors import InvalidRequest
from core.numbers import plain_digits

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INDEX_DIGITS = 9
# Stripe's deepest parameters nest about six levels; far deeper input is refused
# before anything walks it recursively (Python's stack holds about a thousand).
MAX_DEPTH = 20


class _Appended(int):
    """An index made by ``[]``: each occurrence appends a new element."""


class FormList(list):
    """A list built from form indexes (``a[0]=x``), which a field that takes an
    object (metadata) reads back with its keys; a JSON array is a plain list."""

    def __init__(self, items=(), indexes=()) -> None:
        super().__init__(items)
        self.indexes = [str(index) for index in indexes]


def split_key(key: str) -> list[str]:
    """Split ``items[0][price]`` into its segments; ``[]`` gives ``""``."""
    if key.count("[") > MAX_DEPTH:
        raise _too_deep()
    match = _KEY.match(key)
    if not match:
        raise InvalidRequest(f"Invalid parameter name: {key}", param=key)
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def _too_deep() -> InvalidRequest:
    return InvalidRequest(f"Parameters may nest at most {MAX_DEPTH} levels deep.")


def decode_form(
    body: bytes, encoding: str = "utf-8", *, source: str = "body"
) -> list[tuple[str, str]]:
    """Decode a form body or query string into pairs; invalid UTF-8 is a 400.

    Percent-escapes are decoded strictly too: ``%FF%FE`` is refused, not stored as
    replacement characters.
    """
    try:
        return parse_qsl(
            body.decode(encoding),
            keep_blank_values=True,
            encoding=encoding,
            errors="strict",
        )
    except (UnicodeDecodeError, LookupError):
        if source == "body":
            raise InvalidRequest(
                "Invalid request body: The request body is not valid UTF-8.",
                code="invalid_body",
            ) from None
        raise InvalidRequest("Invalid query string: it is not valid UTF-8.") from None


def load_json(body: bytes | str) -> Any:
    """Parse a JSON body, refusing (400) what is invalid or nested too deeply."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise InvalidRequest(
            f"Invalid request body: JSON parse error - {reason}", code="invalid_body"
        ) from None
    check_depth(value)
    return value


def check_depth(value: Any) -> None:
    """Refuse a parsed body whose objects and arrays nest deeper than MAX_DEPTH."""
    level = [value]  # the nodes at one depth, the body itself at depth 1
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    if any(isinstance(node, dict | list) for node in level):
        raise _too_deep()


def parse_nested(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Build the nested parameters from decoded (key, value) pairs.

    Objects whose keys are all list indexes become lists, ordered by index. Values stay
    strings; fields decide what ``"true"`` or ``""`` (clear) mean.
    """
    root: dict[Any, Any] = {}
    for key, value in pairs:
        _assign(root, split_key(key), value, key)
    # The parameters are an object even when every name is digits ("0=x"): only a
    # nested node becomes a list, or a view would be handed a list.
    return {str(key): _listify(value) for key, value in root.items()}


def _assign(node: dict, path: list[str], value: str, full_key: str) -> None:
    for depth, segment in enumerate(path):
        last = depth == len(path) - 1
        slot: Any = _slot(node, segment)
        if last:
            if isinstance(node.get(slot), dict):
                raise InvalidRequest(f"Invalid parameter: {full_key}", param=full_key)
            node[slot] = value
            return
        child = node.get(slot)
        if child is None:
            child = node[slot] = {}
        elif not isinstance(child, dict):
            raise InvalidRequest(
                f"Invalid parameter: {full_key} mixes a value and an object",
                param=full_key,
            )
        node = child


def _slot(node: dict, segment: str) -> Any:
    if segment == "":
        return _Appended(len(node))
    # A list index (few enough digits for int()); anything else is an object key.
    if plain_digits(segment) and len(segment) <= _INDEX_DIGITS:
        return int(segment)
    return segment


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(isinstance(key, int) for key in converted):
        keys = sorted(converted)
        return FormList((converted[key] for key in keys), keys)
    return {str(key): value for key, value in converted.items()}


def query_params(request) -> dict[str, Any]:
    """Return a request's query string as nested parameters."""
    if not request.META.get("QUERY_STRING"):
        return {}
    # The raw bytes: Django's request.GET turns invalid UTF-8 into U+FFFD.
    raw = get_bytes_from_wsgi(request.META, "QUERY_STRING", "")
    return parse_nested(decode_form(raw, source="query"))

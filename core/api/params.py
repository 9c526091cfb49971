"""Stripe's form encoding: ``a[b][0][c]=v`` and ``a[]=v`` into dicts and lists."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from core.errors import InvalidRequest
from core.numbers import plain_digits

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INDEX_DIGITS = 9


class _Appended(int):
    """An index made by ``[]``: each occurrence appends a new element."""


def split_key(key: str) -> list[str]:
    """Split ``items[0][price]`` into its segments; ``[]`` gives ``""``."""
    match = _KEY.match(key)
    if not match:
        raise InvalidRequest(f"Invalid parameter name: {key}", param=key)
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def parse_nested(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Build the nested parameters from decoded (key, value) pairs.

    Objects whose keys are all list indexes become lists, ordered by index. Values stay
    strings; fields decide what ``"true"`` or ``""`` (clear) mean.
    """
    root: dict[Any, Any] = {}
    for key, value in pairs:
        _assign(root, split_key(key), value, key)
    return _listify(root)


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
        return [converted[key] for key in sorted(converted)]
    return {str(key): value for key, value in converted.items()}


def query_params(request) -> dict[str, Any]:
    """Return a request's query string as nested parameters."""
    return parse_nested(
        (key, value) for key, values in request.GET.lists() for value in values
    )

"""Stripe's metadata update rules."""

from __future__ import annotations

from core.errors import InvalidRequest

MAX_KEYS = 50


def metadata_merge(
    current: dict[str, str], update: dict[str, str] | None
) -> dict[str, str]:
    """Merge an update: ``None`` clears all, a ``""`` value deletes that key."""
    if update is None:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_KEYS:
        raise InvalidRequest(
            f"Metadata may have at most {MAX_KEYS} keys.", param="metadata"
        )
    return merged

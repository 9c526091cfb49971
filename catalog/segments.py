"""Segments of a meter: the events whose dimensions meet every condition.

Pure values shared by the catalog (prices and rate cards refuse overlapping
segments) and metering (which reads a segment's usage).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# ((dimension, value), ...) sorted by dimension; None stands for the whole meter.
Segment = tuple[tuple[str, str], ...]


def segment_of(conditions: Iterable[Mapping[str, str]] | None) -> Segment | None:
    """A segment from ``[{"dimension": k, "value": v}]``; None when empty."""
    pairs = tuple(sorted((c["dimension"], c["value"]) for c in conditions or ()))
    return pairs or None


def segments_overlap(a: Segment | None, b: Segment | None) -> bool:
    """Whether one event can fall in both segments: no dimension both name asks
    for two different values. None (the whole meter) overlaps every segment."""
    if a is None or b is None:
        return True
    mine = dict(a)
    return all(mine.get(key, value) == value for key, value in b)


__all__ = ["Segment", "segment_of", "segments_overlap"]

"""Fixtures of the mode tests (``tests/core/modes_world.py``), for its modules."""

from tests.core.modes_world import frozen, queued, worlds  # noqa: F401

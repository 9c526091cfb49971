"""A ``replica`` alias for the router tests: a test mirror of the primary.

Added once at collection, before pytest-django sets the test databases up, as
settings do when DATABASE_REPLICA_URL is set. The router uses it only where a test
sets ``settings.DATABASE_REPLICA_URL`` (tests/system/test_replica_router.py).
"""

from django.conf import settings
from django.db import connections

from core.db import REPLICA

if settings.IS_POSTGRES and REPLICA not in settings.DATABASES:
    settings.DATABASES[REPLICA] = {
        **settings.DATABASES["default"],
        "TEST": {"MIRROR": "default"},
    }
    connections.settings[REPLICA] = connections.configure_settings(settings.DATABASES)[
        REPLICA
    ]

"""Tally settings, read from the environment (12-factor), one module per concern.

Defaults give an embedded setup that needs no server: SQLite under var/ and a
filesystem Celery broker. DATABASE_URL and CELERY_BROKER_URL switch to
PostgreSQL and Redis with the same code.

Each module imports what it uses from another (``env``'s helpers and paths, the
broker URL from ``jobs``), so none depends on the order below. Django reads the
upper-case names of this package.
"""

from config.settings.api import *  # noqa: F403
from config.settings.database import *  # noqa: F403
from config.settings.env import *  # noqa: F403
from config.settings.jobs import *  # noqa: F403
from config.settings.mail import *  # noqa: F403
from config.settings.payments import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.tally import *  # noqa: F403
from config.settings.web import *  # noqa: F403

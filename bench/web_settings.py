"""Settings of the benchmarks' gunicorn: the app's, plus the reference views.

``bench.support.gunicorn`` runs the server with these, so that the physical
references (``bench.web_urls``) are served by the same processes, middleware and
settings as the endpoints measured beside them; production never routes them.
"""

from config.settings import *  # noqa: F403 (the app's settings, unchanged)

ROOT_URLCONF = "bench.web_urls"

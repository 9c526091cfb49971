import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from core.api.lane import LaneApplication  # noqa: E402  (needs Django set up)

# The busiest API endpoints take a lean lane in front of Django (core.api.lane).
application = LaneApplication(django_application)

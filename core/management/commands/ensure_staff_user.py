import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (or reset) the staff login for the dashboard and print it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--username", default=os.environ.get("TALLY_ADMIN_USER", "admin")
        )

    def handle(self, *args, username: str, **options):
        password = os.environ.get("TALLY_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@tally.localhost"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Dashboard login: {username} / {password}")

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from core import roles

ROLE_CHOICES = {
    "support": roles.SUPPORT,
    "finance": roles.FINANCE,
    "admin": roles.ADMIN,
}


class Command(BaseCommand):
    help = (
        "Create (or reset) a staff login for the dashboard and print it: a superuser,"
        " or with --role a user in that role's group (core.roles)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--username", default=os.environ.get("TALLY_ADMIN_USER", "admin")
        )
        parser.add_argument(
            "--role",
            choices=sorted(ROLE_CHOICES),
            help="support (read only), finance or admin; a superuser without it.",
        )

    def handle(self, *args, username: str, role: str | None, **options):
        password = os.environ.get("TALLY_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@tally.localhost"}
        )
        user.is_staff = True
        user.is_superuser = role is None
        user.set_password(password)
        user.save()
        if role is not None:
            group = Group.objects.filter(name=ROLE_CHOICES[role]).first()
            if group is None:
                raise CommandError("The staff roles are missing: run migrate first.")
            user.groups.set([group])
        label = f" ({ROLE_CHOICES[role]})" if role else ""
        self.stdout.write(f"Dashboard login{label}: {username} / {password}")

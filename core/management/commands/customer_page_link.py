from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from core import clock
from core.models import Customer
from core.services.portal import portal_session_create


class Command(BaseCommand):
    help = "Print a link to a customer's pages (by id or email; the URL is last)."

    def add_arguments(self, parser):
        parser.add_argument("customer", help="Customer id (cus_...) or email.")
        parser.add_argument(
            "--base-url",
            default=settings.TALLY_PUBLIC_URL or "http://127.0.0.1:8000",
            help="Scheme and host the link starts with.",
        )

    def handle(self, *args, customer: str, base_url: str, **options):
        found = (
            Customer.objects.filter(Q(pk=customer) | Q(email=customer), deleted=False)
            .order_by("created")
            .first()
        )
        if found is None:
            raise CommandError(f"No customer with id or email {customer!r}.")
        session = portal_session_create(
            customer=found, now=clock.now(), base_url=base_url
        )
        until = f"{session.expires_at:%Y-%m-%d %H:%M} UTC"
        self.stderr.write(f"Link to {found}'s pages, valid until {until}:")
        self.stdout.write(session.url)

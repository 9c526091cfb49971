from django.core.management.base import BaseCommand

from core.services.api_keys import api_key_create


class Command(BaseCommand):
    help = "Create a secret API key and print it (the secret is on the last line)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="", help="A label staff will see.")
        parser.add_argument(
            "--live", action="store_true", help="Create an sk_live_ key."
        )

    def handle(self, *args, name: str, live: bool, **options):
        api_key, secret = api_key_create(name=name, livemode=live)
        self.stderr.write(f"Created API key {api_key.id} ({api_key.redacted}). Secret:")
        self.stdout.write(secret)

from django.core.management.base import BaseCommand

from core.api.access import PRESET_LABELS, PRESETS
from core.services.api_keys import api_key_create


class Command(BaseCommand):
    help = "Create an API key and print it (the secret is on the last line)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="", help="A label staff will see.")
        parser.add_argument(
            "--live", action="store_true", help="Create a live-mode key."
        )
        parser.add_argument(
            "--restricted",
            choices=sorted(PRESETS),
            help="Create a restricted rk_ key: "
            + ", ".join(f"{name} ({PRESET_LABELS[name]})" for name in sorted(PRESETS))
            + ". Without it, a secret sk_ key with full access.",
        )

    def handle(self, *args, name: str, live: bool, restricted: str | None, **options):
        api_key, secret = api_key_create(
            name=name,
            livemode=live,
            permissions=PRESETS[restricted] if restricted else None,
        )
        self.stderr.write(f"Created API key {api_key.id} ({api_key.redacted}). Secret:")
        self.stdout.write(secret)

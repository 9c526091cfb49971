from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string, module_has_submodule


class Command(BaseCommand):
    help = "Load the Hypernian demo data (idempotent: running it twice adds nothing)."

    def handle(self, *args, **options):
        # Each app may ship demo.py with load(stdout); apps run in dependency order.
        for config in apps.get_app_configs():
            if module_has_submodule(config.module, "demo"):
                import_string(f"{config.name}.demo.load")(stdout=self.stdout)
        self.stdout.write("Demo data ready.")

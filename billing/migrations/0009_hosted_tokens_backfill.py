"""Give every invoice finalized before hosted pages existed its hosted token.

The token is not one of the columns the finalized-invoice guard freezes, so the
update passes it; drafts keep none until they finalize.
"""

import secrets

from django.db import migrations


def backfill(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    missing = Invoice.objects.exclude(status="draft").filter(hosted_token__isnull=True)
    for invoice_id in list(missing.values_list("id", flat=True)):
        Invoice.objects.filter(pk=invoice_id).update(
            hosted_token=secrets.token_urlsafe(32)
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0008_invoice_documents")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

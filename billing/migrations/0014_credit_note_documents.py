"""Credit notes get a PDF link like invoices: a token per note (``pdf`` becomes the
address ``/i/cn/<token>/pdf``, made from the token when rendered, so the stored
column of a fixed address goes); notes issued before get their token here."""

import secrets

from django.db import migrations, models

from core.migration_ops import sqlite_triggers_aside

_ASIDE, _BACK = sqlite_triggers_aside()


def backfill(apps, schema_editor) -> None:
    CreditNote = apps.get_model("billing", "CreditNote")
    missing = CreditNote.objects.filter(hosted_token__isnull=True)
    for note_id in list(missing.values_list("id", flat=True)):
        CreditNote.objects.filter(pk=note_id).update(
            hosted_token=secrets.token_urlsafe(32)
        )


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0013_discounts'),
        ('core', '0010_balance_ledger_opening_rows'),
    ]

    operations = [
        _ASIDE,
        migrations.RemoveField(
            model_name='creditnote',
            name='pdf',
        ),
        migrations.AddField(
            model_name='creditnote',
            name='hosted_token',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddConstraint(
            model_name='creditnote',
            constraint=models.UniqueConstraint(condition=models.Q(('hosted_token__isnull', False)), fields=('hosted_token',), name='credit_note_hosted_token_unique'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        _BACK,
    ]

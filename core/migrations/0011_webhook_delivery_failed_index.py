from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0010_balance_ledger_opening_rows"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "failed")),
                fields=["completed_at"],
                name="webhook_delivery_failed",
            ),
        ),
    ]

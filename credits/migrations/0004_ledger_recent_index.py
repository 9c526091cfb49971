from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("credits", "0003_immutable_ledger"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="creditbalancetransaction",
            index=models.Index(fields=["-created", "-id"], name="credit_txn_recent"),
        ),
    ]

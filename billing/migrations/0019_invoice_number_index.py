from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0018_dashboard_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("number__isnull", False)),
                fields=["number"],
                name="billing_in_number",
            ),
        ),
    ]

"""Open the ledger of customers who had a balance before it existed.

Each such customer gets one ``migration`` row of its whole balance, so
``Customer.balance`` equals the sum of its ledger rows from here on.
"""

from django.db import migrations

from core.ids import new_id


def open_ledgers(apps, schema_editor) -> None:
    Customer = apps.get_model("core", "Customer")
    Entry = apps.get_model("core", "CustomerBalanceTransaction")
    rows = [
        Entry(
            id=new_id("cbtxn"),
            customer_id=customer.pk,
            sequence=1,
            type="migration",
            amount=customer.balance,
            ending_balance=customer.balance,
            currency=customer.currency,
            created=customer.created,
            livemode=customer.livemode,
            metadata={},
        )
        for customer in Customer.objects.exclude(balance=0).iterator()
    ]
    Entry.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("core", "0009_customer_balance_transactions")]

    operations = [migrations.RunPython(open_ledgers, migrations.RunPython.noop)]

"""Create the staff roles (``core.roles``): Support (read only), Finance, Admin.

On a fresh database the permissions do not exist yet when this runs; the
``post_migrate`` hook (``core.roles.roles_sync_after_migrate``) grants them.
"""

from django.db import migrations


def create_roles(apps, schema_editor):
    from core.roles import roles_sync

    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


def delete_roles(apps, schema_editor):
    from core.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0005_test_clock_advance_lease"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]

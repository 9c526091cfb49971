"""Staff roles: three Django groups whose model permissions say what each may do.

- **Support (read only)** views every Tally object and changes nothing.
- **Finance** also changes the money: invoices, subscriptions, credits, payments,
  alerts, customers and test clocks (advancing a clock closes periods).
- **Admin** may do everything: catalog, meters, API keys, webhooks, staff users
  and jobs (auth, Celery beat) included.

Permissions are granted by rule (app label, model name), not listed one by one, so
a model added later joins its roles: ``roles_sync`` runs after every ``migrate``
(a ``post_migrate`` hook, ``core.apps``) as well as in the migration that creates
the groups. The groups are managed: ``roles_sync`` sets their permissions exactly.
"""

from __future__ import annotations

SUPPORT = "Support (read only)"
FINANCE = "Finance"
ADMIN = "Admin"
ROLES = (SUPPORT, FINANCE, ADMIN)

# Apps whose objects are Tally's (staff may look at them); others are internals.
TALLY_APPS = frozenset(
    {"core", "catalog", "metering", "credits", "billing", "alerts", "payments"}
)
# Where finance changes things: whole apps, and single models of other apps.
FINANCE_APPS = frozenset({"billing", "credits", "payments", "alerts"})
FINANCE_MODELS = frozenset({("core", "customer"), ("core", "testclock")})


def role_grants(*, app_label: str, model: str, action: str) -> set[str]:
    """The roles that get the ``action`` (view/add/change/delete) permission on
    ``app_label.model``."""
    roles = {ADMIN}
    if app_label not in TALLY_APPS:
        return roles
    if action == "view":
        return {SUPPORT, FINANCE, ADMIN}
    if app_label in FINANCE_APPS or (app_label, model) in FINANCE_MODELS:
        roles.add(FINANCE)
    return roles


def roles_sync(*, group_model, permission_model) -> None:
    """Create the three groups and set each one's permissions by ``role_grants``.

    Takes the models as arguments so a migration can pass its historical ones.
    """
    wanted: dict[str, list[int]] = {role: [] for role in ROLES}
    permissions = permission_model.objects.select_related("content_type")
    for permission in permissions.only("id", "codename", "content_type"):
        action, _, _ = permission.codename.partition("_")
        for role in role_grants(
            app_label=permission.content_type.app_label,
            model=permission.content_type.model,
            action=action,
        ):
            wanted[role].append(permission.pk)
    for role, permission_ids in wanted.items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set(permission_ids)


def roles_sync_after_migrate(sender, **kwargs) -> None:
    """``post_migrate`` receiver: sync once, after the last app's permissions exist."""
    from django.apps import apps

    if sender is not list(apps.get_app_configs())[-1]:
        return
    from django.contrib.auth.models import Group, Permission

    roles_sync(group_model=Group, permission_model=Permission)

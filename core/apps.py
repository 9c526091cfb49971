from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Customers & developers"

    def ready(self) -> None:
        import core.guards  # noqa: F401  (registers SQLite's guard switch)
        import core.tasks  # noqa: F401  (registers the tasks services enqueue)
        from core import resources
        from core.api import serializers
        from core.api.balance_views import CustomerBalanceTransactionSerializer
        from core.api.portal_views import PortalSessionSerializer
        from core.models import (
            Customer,
            CustomerBalanceTransaction,
            Event,
            PortalSession,
            TestClock,
        )

        resources.register(
            resources.Resource(
                object_name="billing_portal.session",
                model=PortalSession,
                serializer=PortalSessionSerializer,
                expandable={"customer": "customer"},
            )
        )
        resources.register(
            resources.Resource(
                object_name="customer",
                model=Customer,
                serializer=serializers.CustomerSerializer,
                expandable={"test_clock": "test_helpers.test_clock"},
            )
        )
        resources.register(
            resources.Resource(
                object_name="customer_balance_transaction",
                model=CustomerBalanceTransaction,
                serializer=CustomerBalanceTransactionSerializer,
                expandable={
                    "customer": "customer",
                    "invoice": "invoice",
                    "credit_note": "credit_note",
                },
            )
        )
        resources.register(
            resources.Resource(
                object_name="test_helpers.test_clock",
                model=TestClock,
                serializer=serializers.TestClockSerializer,
            )
        )
        resources.register(
            resources.Resource(
                object_name="event", model=Event, serializer=serializers.EventSerializer
            )
        )
        self._register_dashboard()
        from core.webhooks import registry as webhooks_registry

        webhooks_registry.register()
        _tasks_see_every_mode()
        from core import audit

        audit.jobs_act_as_themselves()
        _roles_follow_migrations()

    def _register_dashboard(self) -> None:
        from core import balance_pages, dashboard
        from core.models import Customer, Event

        dashboard.register_home_card(
            dashboard.HomeCard(
                name="customers",
                label="Customers",
                value=lambda request: (
                    f"{Customer.objects.filter(deleted=False).count():,}"
                ),
                url="admin:core_customer_changelist",
                order=10,
                # Counting 100,000 customers scans them: kept a minute.
                cache_seconds=60,
            )
        )
        dashboard.register_home_card(
            dashboard.HomeCard(
                name="events",
                label="Events today",
                value=lambda request: (
                    f"{Event.objects.filter(created__gte=_today()).count():,}"
                ),
                url=_events_today_url,
                order=90,
            )
        )
        dashboard.register_customer_panel(
            dashboard.CustomerPanel(
                name="balance",
                title="Customer balance",
                render=balance_pages.balance_panel,
                order=5,
            )
        )
        dashboard.register_quick_link(
            dashboard.QuickLink("Add customer", "admin:core_customer_add", order=20)
        )
        from core.templatetags.tally_audit import history_rows_html

        dashboard.register_customer_panel(
            dashboard.CustomerPanel(
                name="history", title="History", render=history_rows_html, order=900
            )
        )
        dashboard.register_quick_link(
            dashboard.QuickLink("API docs", "/api/docs/", order=90)
        )


def _tasks_see_every_mode() -> None:
    """Run every task with no mode active (``core.modes``), even an eager one
    started inside a request: jobs work across modes, each object in its own."""
    from celery import signals

    from core import modes

    tokens: dict[str, object] = {}

    def before(task_id=None, **_kwargs) -> None:
        tokens[task_id] = modes.activate(None)

    def after(task_id=None, **_kwargs) -> None:
        token = tokens.pop(task_id, None)
        if token is not None:
            modes.reset(token)

    signals.task_prerun.connect(before, weak=False, dispatch_uid="core.modes.pre")
    signals.task_postrun.connect(after, weak=False, dispatch_uid="core.modes.post")


def _roles_follow_migrations() -> None:
    """Re-grant the staff roles after each ``migrate``: new models join them."""
    from django.db.models.signals import post_migrate

    from core.roles import roles_sync_after_migrate

    post_migrate.connect(roles_sync_after_migrate, dispatch_uid="core.roles.sync")


def _events_today_url(request) -> str:
    from django.urls import reverse

    return f"{reverse('admin:core_event_changelist')}?created__gte={_today():%Y-%m-%d}"


def _today():
    from core import clock

    return clock.now().replace(hour=0, minute=0, second=0, microsecond=0)

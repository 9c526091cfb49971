from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Billing credits"

    def ready(self) -> None:
        from core.portal import register_sections
        from credits.portal import SECTIONS

        register_sections(*SECTIONS)
        from core import resources
        from credits.api import serializers
        from credits.models import CreditBalanceTransaction, CreditGrant

        resources.register(
            resources.Resource(
                object_name="billing.credit_grant",
                model=CreditGrant,
                serializer=serializers.CreditGrantSerializer,
                expandable={
                    "customer": "customer",
                    "test_clock": "test_helpers.test_clock",
                },
            )
        )
        resources.register(
            resources.Resource(
                object_name="billing.credit_balance_transaction",
                model=CreditBalanceTransaction,
                serializer=serializers.CreditBalanceTransactionSerializer,
                expandable={
                    "credit_grant": "billing.credit_grant",
                    "test_clock": "test_helpers.test_clock",
                },
            )
        )
        self._register_time_handler()
        self._register_dashboard()

    def _register_time_handler(self) -> None:
        from core import clock
        from credits import selectors, services
        from credits.services.notices import expiry_notice_window

        def next_due(*, clock, until):
            return selectors.credit_grants_next_due(test_clock=clock)

        def run(*, clock, now):
            services.credit_grants_process_due(now=now, test_clock=clock)

        # Before billing's period close at the same moment (order 100): a grant
        # starting or ending then is posted before invoices read the balances.
        clock.register_time_handler(
            clock.TimeHandler(
                name="credits.grants_due", next_due=next_due, run=run, order=50
            )
        )

        def next_notice(*, clock, until):
            return selectors.credit_grants_next_expiry_notice(
                test_clock=clock, window=expiry_notice_window()
            )

        def send_notices(*, clock, now):
            services.credit_grant_expiry_notices_send_due(now=now, test_clock=clock)

        # After the grants at the same moment: a grant that becomes effective
        # inside the notice window is noticed as soon as its credits exist.
        clock.register_time_handler(
            clock.TimeHandler(
                name="credits.expiry_notices",
                next_due=next_notice,
                run=send_notices,
                order=60,
            )
        )

    def _register_dashboard(self) -> None:
        from core import dashboard
        from credits import views

        dashboard.register_customer_panel(
            dashboard.CustomerPanel(
                name="credit_grants",
                title="Credit grants",
                render=views.customer_panel,
                order=30,
            )
        )

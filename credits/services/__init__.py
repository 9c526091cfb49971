"""Writes of the credits app: grants, the ledger, and application to invoices.

The API, the dashboard, Beat jobs, test-clock handlers and the billing app all go
through these functions. Billing's contract is in ``credits.services.application``.
"""

from credits.services.application import (
    CreditableLine,
    CreditApplication,
    CreditReinstatement,
    credits_apply_to_invoice,
    credits_preview_for_invoice,
    credits_reinstate_for_invoice,
)
from credits.services.grants import (
    credit_grant_catch_up,
    credit_grant_create,
    credit_grant_expire,
    credit_grant_update,
    credit_grant_void,
    credit_grants_due,
    credit_grants_process_due,
)
from credits.services.notices import (
    credit_grant_expiry_notice_send,
    credit_grant_expiry_notices_send_due,
)

__all__ = [
    "CreditApplication",
    "CreditReinstatement",
    "CreditableLine",
    "credit_grant_catch_up",
    "credit_grant_create",
    "credit_grant_expire",
    "credit_grant_expiry_notice_send",
    "credit_grant_expiry_notices_send_due",
    "credit_grant_update",
    "credit_grant_void",
    "credit_grants_due",
    "credit_grants_process_due",
    "credits_apply_to_invoice",
    "credits_preview_for_invoice",
    "credits_reinstate_for_invoice",
]

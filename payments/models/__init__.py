"""Models of the payments app, by subdomain; every name importable from here."""

from payments.models.collection import (
    InvoicePayment,
    PaymentAttempt,
    PaymentIntent,
    ProcessorEvent,
    Refund,
    SimulatedCharge,
    SimulatedRefund,
)
from payments.models.config import CollectionSettings
from payments.models.methods import PaymentMethod
from payments.models.prepaid import AutoTopUp, PaidCredit, TopUp
from payments.models.receivables import BankStatement, InvoiceReminder, StatementLine

__all__ = [
    "AutoTopUp",
    "BankStatement",
    "CollectionSettings",
    "InvoicePayment",
    "InvoiceReminder",
    "PaidCredit",
    "PaymentAttempt",
    "PaymentIntent",
    "PaymentMethod",
    "ProcessorEvent",
    "Refund",
    "SimulatedCharge",
    "SimulatedRefund",
    "StatementLine",
    "TopUp",
]

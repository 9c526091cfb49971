"""Credit notes: what they credit (``amounts``, pure) and their writes (``issue``)."""

from billing.services.credit_notes.issue import (
    credit_note_create,
    credit_note_preview,
    credit_note_update,
    credit_note_void,
    invoice_view,
)

__all__ = [
    "credit_note_create",
    "credit_note_preview",
    "credit_note_update",
    "credit_note_void",
    "invoice_view",
]

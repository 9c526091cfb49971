"""The seller (from settings) and the buyer (as frozen on the invoice)."""

from __future__ import annotations

from django.conf import settings

from billing.documents.document import Party
from billing.models import Invoice


def address_lines(address: dict | None) -> tuple[str, ...]:
    """A Stripe address (line1, line2, postal_code, city, state, country) as lines."""
    if not address:
        return ()
    town = " ".join(
        part for part in (address.get("postal_code"), address.get("city")) if part
    )
    if address.get("state"):
        town = f"{town}, {address['state']}" if town else address["state"]
    lines = (address.get("line1"), address.get("line2"), town, address.get("country"))
    return tuple(line for line in lines if line)


def seller() -> Party:
    """Who issues the invoices (``TALLY_SELLER``)."""
    config = settings.TALLY_SELLER
    return Party(
        name=config["name"],
        address=tuple(config["address"]),
        email=config["email"],
        tax_ids=(config["tax_id"],) if config["tax_id"] else (),
    )


def buyer_tax_ids(invoice: Invoice) -> tuple[str, ...]:
    """The customer's tax ids as billed (Stripe's ``customer_tax_ids``:
    ``[{type, value}]``); none until the invoice records them."""
    entries = getattr(invoice, "customer_tax_ids", None) or ()
    return tuple(
        f"{entry['type'].replace('_', ' ').upper()} {entry['value']}"
        for entry in entries
    )


def buyer(invoice: Invoice) -> Party:
    """The customer as billed: name, address and email frozen at finalization."""
    name = invoice.customer_name or invoice.customer_email or invoice.customer_id
    return Party(
        name=name,
        address=address_lines(invoice.customer_address),
        email=invoice.customer_email or "",
        tax_ids=buyer_tax_ids(invoice),
    )
